"""Clean raw OCR text and detect its language (:mod:`.cleaning`)."""
