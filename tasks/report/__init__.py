"""Report: the ledger as of a date; KPIs, ageing, the report page, exports, audit packs and replays."""
