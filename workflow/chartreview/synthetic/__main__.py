"""``python -m chartreview.synthetic``: write a SYNTHETIC chart-review export (see ``redcap.main``)."""

import sys

from chartreview.synthetic.redcap import main

sys.exit(main())
