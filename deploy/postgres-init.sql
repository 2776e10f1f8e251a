-- Run by the postgres image once, when its data volume is new: the database of the ledger
-- (O2C_LEDGER_URL=postgresql+psycopg://prefect:PASSWORD@postgres:5432/o2c), beside Prefect's own.
create database o2c;
