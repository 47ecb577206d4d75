-- SQLite only (0040_serial_tables_without_rowid.sql): a PostgreSQL table
-- is a heap and its primary key an index whatever it is declared as.
SELECT 1;
