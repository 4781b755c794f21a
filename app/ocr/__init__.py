"""Turn uploaded images and PDFs into raw text.

Modules: :mod:`.sniff` (magic bytes), :mod:`.decode` (safe page decoding),
:mod:`.engines` (Tesseract / RapidOCR), :mod:`.reader` (the whole pipeline) and
:mod:`.errors`. Nothing heavy is imported here; engines load their libraries lazily.
"""
