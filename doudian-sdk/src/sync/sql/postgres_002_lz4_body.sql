-- Order bodies (about 6 KB of JSON each) compressed with lz4 rather than the default
-- pglz: half the database's CPU on an initial sync. Only where the server has lz4
-- (PostgreSQL 14 and later, built with it, as Debian's and the official images are);
-- elsewhere the column keeps the default. New values only: nothing is rewritten.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE orders ALTER COLUMN body SET COMPRESSION lz4';
EXCEPTION
    -- 42601: no COMPRESSION clause before PostgreSQL 14; 0A000: built without lz4.
    WHEN syntax_error OR feature_not_supported THEN
        RAISE NOTICE 'order bodies keep the default compression: %', SQLERRM;
END
$$;
