import os

# Tesseract spawns one thread per core by default, which is 5-7x slower on small machines.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
