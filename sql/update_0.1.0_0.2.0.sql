-- piw schema upgrade 0.1.0 -> 0.2.0, run by `piw initdb` in one transaction with piw.username set
-- (see the header of create_piw.sql). Whatever this script adds must also be in create_piw.sql,
-- with new columns at the END of their CREATE TABLE, so that a database created at 0.2.0 and one
-- upgraded from 0.1.0 have the same schema (tests/initdb/upgrade_test.ts compares them).
--
-- Each change below has a section of its own; keep them independent of each other.

UPDATE configuration SET version = '0.2.0';

-- (sections for 0.2.0's changes follow)

-- issue 17/3: build queue priorities (packages.priority, packages.downloads_30d, versions.queue_rank;
-- the queue is ordered by rank, then age: see queue_rank in create_piw.sql).

ALTER TABLE packages ADD COLUMN priority INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE packages ADD COLUMN downloads_30d BIGINT DEFAULT 0 NOT NULL;
ALTER TABLE packages ADD CONSTRAINT packages_priority_ck CHECK (priority BETWEEN -1000 AND 1000);
ALTER TABLE versions ADD COLUMN queue_rank INTEGER DEFAULT 0 NOT NULL;

DROP INDEX versions_queue;
CREATE INDEX versions_queue ON versions (queued_abi, queue_rank DESC, released, package, version)
    WHERE queued_abi IS NOT NULL;

CREATE FUNCTION queue_popularity(downloads BIGINT) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $sql$
    -- In floating point (numeric's log costs ten times as much); the nudge keeps exact powers
    -- of two from rounding down.
    SELECT LEAST(floor(ln((GREATEST(downloads, 0) + 1)::FLOAT8) / ln(2::FLOAT8) + 1e-9), 62)::INTEGER
$sql$;

CREATE FUNCTION queue_rank(prio INTEGER, downloads BIGINT, rel TIMESTAMPTZ) RETURNS INTEGER
LANGUAGE sql STABLE PARALLEL SAFE
AS $sql$
    SELECT prio * 1000
        + CASE WHEN rel > now() - INTERVAL '7 days' THEN 100 ELSE 0 END
        + public.queue_popularity(downloads)
$sql$;

CREATE OR REPLACE FUNCTION refresh_version_queue(pkg VARCHAR, ver VARCHAR) RETURNS VOID
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
DECLARE
    new_abi VARCHAR;
    new_rank INTEGER;
BEGIN
    -- Lock first, then read builds in a new statement (hence a new snapshot): a concurrent
    -- transaction logging a build of the same version has committed by the time we read.
    PERFORM 1 FROM versions WHERE package = pkg AND version = ver FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT CASE WHEN v.skip = '' AND NOT v.yanked AND p.skip = ''
        THEN next_build_abi(v.package, v.version) END,
        queue_rank(p.priority, p.downloads_30d, v.released)
    INTO new_abi, new_rank
    FROM versions v JOIN packages p ON p.package = v.package
    WHERE v.package = pkg AND v.version = ver;
    UPDATE versions SET queued_abi = new_abi, queue_rank = new_rank
    WHERE package = pkg AND version = ver
    AND (queued_abi IS DISTINCT FROM new_abi OR (new_abi IS NOT NULL AND queue_rank <> new_rank));
END;
$sql$;

CREATE OR REPLACE FUNCTION refresh_build_queue() RETURNS BIGINT
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET work_mem = '256MB'
AS $sql$
DECLARE
    changed BIGINT;
BEGIN
    -- Per-row pending counters would add a row per changed version; recounted below instead.
    PERFORM set_config('piw.bulk_refresh', 'on', true);
    WITH abis AS (
        SELECT abi_tag, (row_number() OVER (ORDER BY abi_order(abi_tag), abi_tag) - 1)::INTEGER AS bit
        FROM build_abis
        WHERE skip = ''
    ),
    covered AS (
        SELECT b.package, b.version, bit_or(1::BIGINT << a.bit) AS mask
        FROM builds b
        LEFT JOIN files f ON f.build_id = b.build_id
        JOIN abis a ON a.abi_tag = b.abi_tag
            OR a.abi_tag = f.abi_tag
            OR f.abi_tag = 'none'
            OR (f.abi_tag = 'abi3' AND abi3_covers(f.py_version_tag, a.abi_tag))
        GROUP BY b.package, b.version
    ),
    computed AS (
        SELECT v.package, v.version, a.abi_tag
        FROM versions v
        JOIN packages p ON p.package = v.package
        LEFT JOIN covered c ON c.package = v.package AND c.version = v.version
        LEFT JOIN abis a
            ON p.skip = '' AND v.skip = '' AND NOT v.yanked
            AND (1::BIGINT << a.bit) = (~COALESCE(c.mask, 0) & (COALESCE(c.mask, 0) + 1))
    )
    UPDATE versions v SET queued_abi = c.abi_tag
    FROM computed c
    WHERE c.package = v.package AND c.version = v.version
    AND v.queued_abi IS DISTINCT FROM c.abi_tag;
    GET DIAGNOSTICS changed = ROW_COUNT;
    PERFORM set_config('piw.bulk_refresh', 'off', true);

    DELETE FROM statistics_deltas WHERE counter = 'builds_pending';
    INSERT INTO statistics_deltas (counter, label, value)
        SELECT 'builds_pending', queued_abi, count(*)
        FROM versions
        WHERE queued_abi IS NOT NULL
        GROUP BY queued_abi;
    PERFORM rank_queued_versions();
    RETURN changed;
END;
$sql$;

CREATE FUNCTION rank_queued_versions() RETURNS BIGINT
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
DECLARE
    changed BIGINT;
BEGIN
    UPDATE versions v SET queue_rank = queue_rank(p.priority, p.downloads_30d, v.released)
    FROM packages p
    WHERE v.queued_abi IS NOT NULL AND p.package = v.package
    AND v.queue_rank <> queue_rank(p.priority, p.downloads_30d, v.released);
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$sql$;

CREATE FUNCTION refresh_queue_ranks() RETURNS BIGINT
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET work_mem = '256MB'
AS $sql$
DECLARE
    popular BIGINT;
    aged BIGINT;
BEGIN
    -- The statement below re-ranks the versions, rather than the trigger package by package.
    PERFORM set_config('piw.bulk_refresh', 'on', true);
    WITH counts AS (
        SELECT b.package, count(*) AS n
        FROM downloads d
        JOIN files f ON f.filename = d.filename
        JOIN builds b ON b.build_id = f.build_id
        WHERE d.accessed_at > now() - INTERVAL '30 days'
        GROUP BY b.package
    ),
    moved AS (
        UPDATE packages p SET downloads_30d = c.n
        FROM (
            SELECT q.package, COALESCE(x.n, 0) AS n
            FROM packages q LEFT JOIN counts x USING (package)
        ) c
        WHERE c.package = p.package AND p.downloads_30d <> c.n
        RETURNING p.package, p.priority, p.downloads_30d
    )
    UPDATE versions v SET queue_rank = queue_rank(m.priority, m.downloads_30d, v.released)
    FROM moved m
    WHERE v.package = m.package AND v.queued_abi IS NOT NULL
    AND v.queue_rank <> queue_rank(m.priority, m.downloads_30d, v.released);
    GET DIAGNOSTICS popular = ROW_COUNT;
    PERFORM set_config('piw.bulk_refresh', 'off', true);
    UPDATE versions v SET queue_rank = queue_rank(p.priority, p.downloads_30d, v.released)
    FROM packages p
    WHERE v.released > now() - INTERVAL '30 days' AND v.released <= now() - INTERVAL '7 days'
    AND v.queued_abi IS NOT NULL AND p.package = v.package
    AND v.queue_rank <> queue_rank(p.priority, p.downloads_30d, v.released);
    GET DIAGNOSTICS aged = ROW_COUNT;
    RETURN popular + aged;
END;
$sql$;

CREATE OR REPLACE FUNCTION versions_queue_trigger() RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
DECLARE
    pkg_skip VARCHAR;
    pkg_priority INTEGER;
    pkg_downloads BIGINT;
BEGIN
    SELECT skip, priority, downloads_30d INTO pkg_skip, pkg_priority, pkg_downloads
    FROM packages WHERE package = NEW.package;
    NEW.queued_abi := CASE
        WHEN NEW.skip = '' AND NOT NEW.yanked AND pkg_skip = ''
        THEN next_build_abi(NEW.package, NEW.version)
    END;
    NEW.queue_rank := queue_rank(COALESCE(pkg_priority, 0), COALESCE(pkg_downloads, 0), NEW.released);
    RETURN NEW;
END;
$sql$;

CREATE OR REPLACE FUNCTION packages_skip_trigger() RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
BEGIN
    PERFORM 1 FROM versions WHERE package = NEW.package FOR NO KEY UPDATE;
    UPDATE versions v SET queued_abi = CASE
        WHEN NEW.skip = '' AND v.skip = '' AND NOT v.yanked
        THEN next_build_abi(v.package, v.version)
    END,
    queue_rank = queue_rank(NEW.priority, NEW.downloads_30d, v.released)
    WHERE v.package = NEW.package;
    RETURN NULL;
END;
$sql$;

CREATE FUNCTION packages_rank_trigger() RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
BEGIN
    UPDATE versions v SET queue_rank = queue_rank(NEW.priority, NEW.downloads_30d, v.released)
    WHERE v.package = NEW.package AND v.queued_abi IS NOT NULL
    AND v.queue_rank <> queue_rank(NEW.priority, NEW.downloads_30d, v.released);
    RETURN NULL;
END;
$sql$;

CREATE TRIGGER packages_rank AFTER UPDATE OF priority, downloads_30d ON packages
    FOR EACH ROW WHEN ((OLD.priority <> NEW.priority
            OR queue_popularity(OLD.downloads_30d) <> queue_popularity(NEW.downloads_30d))
        AND current_setting('piw.bulk_refresh', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION packages_rank_trigger();

CREATE OR REPLACE VIEW builds_pending AS
SELECT
    queued_abi AS abi_tag,
    row_number() OVER (
        PARTITION BY queued_abi ORDER BY queue_rank DESC, released, package, version
    ) AS position,
    package,
    version
FROM versions
WHERE queued_abi IS NOT NULL;

CREATE OR REPLACE FUNCTION get_build_queue(lim INTEGER) RETURNS TABLE (
    abi_tag VARCHAR, "position" BIGINT, package VARCHAR, version VARCHAR
)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT a.abi_tag, q.position, q.package, q.version
    FROM build_abis a
    CROSS JOIN LATERAL (
        SELECT
            row_number() OVER (
                ORDER BY s.queue_rank DESC, s.released, s.package, s.version
            ) AS position,
            s.package,
            s.version
        FROM (
            SELECT v.queue_rank, v.released, v.package, v.version
            FROM versions v
            WHERE v.queued_abi = a.abi_tag
            ORDER BY v.queue_rank DESC, v.released, v.package, v.version
            LIMIT lim
        ) s
    ) q
    WHERE a.skip = ''
    ORDER BY abi_order(a.abi_tag), a.abi_tag, q.position
$sql$;

CREATE OR REPLACE FUNCTION get_build_queue_text(lim INTEGER) RETURNS TABLE (abi_tag VARCHAR, entries TEXT)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT a.abi_tag, (
        -- The aggregate takes the rows in the order of the subquery (which has a LIMIT, so it
        -- is never flattened): a second sort would cost more than the scan.
        SELECT COALESCE(string_agg(s.package || E'\n' || s.version, E'\n'), '')
        FROM (
            SELECT v.queue_rank, v.released, v.package, v.version
            FROM versions v
            WHERE v.queued_abi = a.abi_tag
            ORDER BY v.queue_rank DESC, v.released, v.package, v.version
            LIMIT lim
        ) s
    )
    FROM build_abis a
    WHERE a.skip = ''
    ORDER BY abi_order(a.abi_tag), a.abi_tag
$sql$;

CREATE FUNCTION set_package_priority(pkg VARCHAR, prio INTEGER) RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    UPDATE packages SET priority = prio WHERE package = pkg;
    RETURN FOUND;
END;
$sql$;

CREATE FUNCTION get_package_queue(pkg VARCHAR) RETURNS TABLE (
    abi_tag VARCHAR, queued BIGINT, first_position BIGINT
)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT q.queued_abi, q.n, 1 + (
        SELECT count(*) FROM versions o
        WHERE o.queued_abi = q.queued_abi
        AND (o.queue_rank > q.queue_rank OR (o.queue_rank = q.queue_rank
            AND (o.released, o.package, o.version) < (q.released, pkg, q.version)))
    )
    FROM (
        SELECT DISTINCT ON (v.queued_abi) v.queued_abi, v.queue_rank, v.released, v.version,
            count(*) OVER (PARTITION BY v.queued_abi) AS n
        FROM versions v
        WHERE v.package = pkg AND v.queued_abi IS NOT NULL
        ORDER BY v.queued_abi, v.queue_rank DESC, v.released, v.version
    ) q
    ORDER BY abi_order(q.queued_abi), q.queued_abi
$sql$;

-- Ranks of the versions queued before this upgrade.
SELECT rank_queued_versions();

DO $sql$
DECLARE
    username TEXT := current_setting('piw.username');
BEGIN
    REVOKE ALL PRIVILEGES ON FUNCTION queue_popularity(BIGINT),
        queue_rank(INTEGER, BIGINT, TIMESTAMPTZ),
        rank_queued_versions(),
        refresh_queue_ranks(),
        packages_rank_trigger(),
        set_package_priority(VARCHAR, INTEGER),
        get_package_queue(VARCHAR) FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION queue_popularity(BIGINT), '
        'queue_rank(INTEGER, BIGINT, TIMESTAMPTZ), '
        'rank_queued_versions(), '
        'refresh_queue_ranks(), '
        'packages_rank_trigger(), '
        'set_package_priority(VARCHAR, INTEGER), '
        'get_package_queue(VARCHAR) TO %I', username);
END
$sql$;

-- issue 17/4: metrics (builds of the last hour by ABI and result).

CREATE FUNCTION get_builds_last_hour() RETURNS TABLE (abi_tag VARCHAR, status BOOLEAN, builds BIGINT)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT b.abi_tag, b.status, count(*)
    FROM builds b
    WHERE b.built_at > now() - INTERVAL '1 hour'
    GROUP BY b.abi_tag, b.status
    ORDER BY b.abi_tag, b.status
$sql$;

DO $sql$
DECLARE
    username TEXT := current_setting('piw.username');
BEGIN
    REVOKE ALL PRIVILEGES ON FUNCTION get_builds_last_hour() FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION get_builds_last_hour() TO %I', username);
END
$sql$;
