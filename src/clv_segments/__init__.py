"""clv_segments: customer lifetime value and persona segmentation, warehouse-native.

The dbt project does the per-order and per-event work in SQL; this package holds what
Python is better at: the CLV maths (BG/NBD + Gamma-Gamma on sufficient statistics), the demo data
generator, the CDNOW loader, the validation suite and the command-line interface.
"""

__version__ = "0.1.0"
