-- piw schema upgrade 0.1.0 -> 0.2.0, run by `piw initdb` in one transaction with piw.username set
-- (see the header of create_piw.sql). Whatever this script adds must also be in create_piw.sql,
-- with new columns at the END of their CREATE TABLE, so that a database created at 0.2.0 and one
-- upgraded from 0.1.0 have the same schema (tests/initdb/upgrade_test.ts compares them).
--
-- Each change below has a section of its own; keep them independent of each other.

UPDATE configuration SET version = '0.2.0';

-- (sections for 0.2.0's changes follow)

-- issue 16 item 10: pip's PEP 658 metadata fetches counted as what they are -------------------
-- A metadata_fetches access log (as downloads), its per-day counter in statistics_deltas
-- (refresh_statistics recomputes it too), log_metadata_fetches and get_metadata_fetches.

CREATE TABLE metadata_fetches (
    filename           VARCHAR(255) NOT NULL,
    accessed_by        INET NOT NULL,
    accessed_at        TIMESTAMPTZ NOT NULL,
    arch               VARCHAR(100),
    distro_name        VARCHAR(100),
    distro_version     VARCHAR(100),
    os_name            VARCHAR(100),
    os_version         VARCHAR(100),
    py_name            VARCHAR(100),
    py_version         VARCHAR(100),
    installer_name     VARCHAR(20),
    installer_version  VARCHAR(100),
    setuptools_version VARCHAR(100)
);

CREATE INDEX metadata_fetches_accessed_at ON metadata_fetches USING brin (accessed_at);

CREATE FUNCTION metadata_fetches_trigger() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO statistics_deltas (counter, label, value)
            SELECT 'metadata_fetches', to_char(day, 'YYYY-MM-DD'), n
            FROM (SELECT utc_date(accessed_at) AS day, count(*) AS n FROM added GROUP BY 1) d;
    ELSE
        INSERT INTO statistics_deltas (counter, label, value)
            SELECT 'metadata_fetches', to_char(day, 'YYYY-MM-DD'), -n
            FROM (SELECT utc_date(accessed_at) AS day, count(*) AS n FROM removed GROUP BY 1) d;
    END IF;
    RETURN NULL;
END;
$sql$;

CREATE TRIGGER metadata_fetches_added AFTER INSERT ON metadata_fetches
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION metadata_fetches_trigger();
CREATE TRIGGER metadata_fetches_removed AFTER DELETE ON metadata_fetches
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION metadata_fetches_trigger();

CREATE FUNCTION log_metadata_fetches(rows JSONB) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    n INTEGER;
BEGIN
    INSERT INTO metadata_fetches (
        filename, accessed_by, accessed_at, arch, distro_name, distro_version, os_name,
        os_version, py_name, py_version, installer_name, installer_version, setuptools_version
    )
    SELECT
        left(r->>0, 255), (r->>1)::INET, (r->>2)::TIMESTAMPTZ, left(r->>3, 100),
        left(r->>4, 100), left(r->>5, 100), left(r->>6, 100), left(r->>7, 100),
        left(r->>8, 100), left(r->>9, 100), left(r->>10, 20), left(r->>11, 100),
        left(r->>12, 100)
    FROM jsonb_array_elements(rows) r;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$sql$;

CREATE FUNCTION get_metadata_fetches() RETURNS TABLE (last_month BIGINT, total BIGINT)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT
        COALESCE(sum(d.value) FILTER (WHERE d.label > utc_day(now() - INTERVAL '30 days')), 0)::BIGINT,
        COALESCE(sum(d.value), 0)::BIGINT
    FROM statistics_deltas d
    WHERE d.counter = 'metadata_fetches'
$sql$;

CREATE OR REPLACE FUNCTION refresh_statistics() RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET work_mem = '256MB'
AS $sql$
BEGIN
    DELETE FROM built_packages;
    INSERT INTO built_packages (package)
        SELECT DISTINCT package FROM builds WHERE status;
    DELETE FROM statistics_deltas WHERE counter <> 'builds_pending';
    INSERT INTO statistics_deltas (counter, label, value)
        SELECT 'downloads', to_char(day, 'YYYY-MM-DD'), n
        FROM (SELECT utc_date(accessed_at) AS day, count(*) AS n FROM downloads GROUP BY 1) d;
    INSERT INTO statistics_deltas (counter, label, value)
        SELECT 'metadata_fetches', to_char(day, 'YYYY-MM-DD'), n
        FROM (SELECT utc_date(accessed_at) AS day, count(*) AS n FROM metadata_fetches
              GROUP BY 1) d;
    INSERT INTO statistics_deltas (counter, value)
        SELECT 'packages_built', count(*) FROM built_packages
        UNION ALL
        SELECT 'files_count', count(*) FROM files
        UNION ALL
        SELECT 'builds_size', COALESCE(sum(filesize), 0) FROM files
            WHERE platform_tag <> 'linux_armv6l'
        UNION ALL
        SELECT 'builds_time', COALESCE(sum(
                (extract(EPOCH FROM duration) * 1000000)::BIGINT), 0)
            FROM builds WHERE duration < INTERVAL '1 week';
END;
$sql$;

REVOKE ALL PRIVILEGES ON metadata_fetches FROM PUBLIC;
REVOKE ALL PRIVILEGES ON FUNCTION metadata_fetches_trigger(), log_metadata_fetches(JSONB),
    get_metadata_fetches() FROM PUBLIC;
DO $sql$
DECLARE
    username TEXT := current_setting('piw.username');
BEGIN
    -- Append-only, as the other access logs: Lumberjack COPYs into it.
    EXECUTE format('GRANT SELECT, INSERT ON metadata_fetches TO %I', username);
    EXECUTE format('GRANT EXECUTE ON FUNCTION metadata_fetches_trigger(), '
        'log_metadata_fetches(JSONB), get_metadata_fetches() TO %I', username);
END
$sql$;
