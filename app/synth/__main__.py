"""`python -m app.synth OUT --per-class N --seed S` writes a synthetic dataset."""

import sys

from app.synth.dataset import main

sys.exit(main())
