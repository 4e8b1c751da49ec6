-- piw schema upgrade 0.1.0 -> 0.2.0, run by `piw initdb` in one transaction with piw.username set
-- (see the header of create_piw.sql). Whatever this script adds must also be in create_piw.sql,
-- with new columns at the END of their CREATE TABLE, so that a database created at 0.2.0 and one
-- upgraded from 0.1.0 have the same schema (tests/initdb/upgrade_test.ts compares them).
--
-- Each change below has a section of its own; keep them independent of each other.

UPDATE configuration SET version = '0.2.0';

-- (sections for 0.2.0's changes follow)
