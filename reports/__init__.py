"""The deliverables people open: Excel workbooks (xlsxwriter), the fieldwork plan, drafted
recommendations and the study report. Reads the warehouse marts and the study definition only
(never ``etl``), in the language chosen by ``AIMAK_LANG`` or ``--lang``."""
