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

-- issue 17 parts 1-2: failure classes and automatic retries --------------------------------------
-- Each failed build keeps its failure class, detail and lines; a failure that may go away by
-- itself gets a retry time, and retries_pending lists the retries not yet acted on. The build
-- queue's covering rule (next_build_abi, refresh_build_queue) no longer counts a failure whose
-- retry time has come; log_build takes the class and the retry schedule.

ALTER TABLE builds
    ADD COLUMN failure_class VARCHAR(20),
    ADD COLUMN failure_detail VARCHAR(200) DEFAULT '' NOT NULL,
    ADD COLUMN failure_lines VARCHAR(1000) DEFAULT '' NOT NULL,
    ADD COLUMN retry_at TIMESTAMPTZ;

CREATE TABLE retries_pending (
    build_id INTEGER NOT NULL,
    retry_at TIMESTAMPTZ NOT NULL,

    CONSTRAINT retries_pending_pk PRIMARY KEY (build_id),
    CONSTRAINT retries_pending_builds_fk FOREIGN KEY (build_id)
        REFERENCES builds (build_id) ON DELETE CASCADE
);

CREATE INDEX retries_pending_retry_at ON retries_pending (retry_at);

CREATE OR REPLACE FUNCTION next_build_abi(pkg VARCHAR, ver VARCHAR) RETURNS VARCHAR
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
AS $sql$
BEGIN
    RETURN (
        SELECT a.abi_tag
        FROM build_abis a
        WHERE a.skip = ''
        AND NOT EXISTS (
            SELECT 1
            FROM builds b
            LEFT JOIN files f ON f.build_id = b.build_id
            WHERE b.package = pkg
            AND b.version = ver
            AND (
                (b.abi_tag = a.abi_tag AND (b.retry_at IS NULL OR b.retry_at > now()))
                OR f.abi_tag = a.abi_tag
                OR f.abi_tag = 'none'
                OR (f.abi_tag = 'abi3' AND abi3_covers(f.py_version_tag, a.abi_tag))
            )
        )
        ORDER BY abi_order(a.abi_tag), a.abi_tag
        LIMIT 1
    );
END;
$sql$;

-- refresh_build_queue() gets this rule in the issue 17/3 section below (with the ranks).

-- log_build gains parameters: the old one goes (an overload would be ambiguous to callers).
DROP FUNCTION log_build(VARCHAR, VARCHAR, INTEGER, DOUBLE PRECISION, BOOLEAN, VARCHAR, JSONB);

CREATE FUNCTION log_build(
    pkg VARCHAR, ver VARCHAR, slave_id INTEGER, duration_ms DOUBLE PRECISION, ok BOOLEAN,
    builder_abi VARCHAR, bfiles JSONB, fail_class VARCHAR = NULL, fail_detail VARCHAR = '',
    fail_lines VARCHAR = '', retry_delays_ms DOUBLE PRECISION[] = '{}'
)
RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    new_id INTEGER;
    tries INTEGER := 0;
    retry TIMESTAMPTZ;
BEGIN
    IF NOT ok AND cardinality(COALESCE(retry_delays_ms, '{}')) > 0 THEN
        SELECT count(*) INTO tries FROM builds
            WHERE package = pkg AND version = ver AND abi_tag = builder_abi
            AND retry_at IS NOT NULL;
        IF tries < cardinality(retry_delays_ms) THEN
            retry := now() + make_interval(secs => retry_delays_ms[tries + 1] / 1000);
        END IF;
    END IF;
    INSERT INTO builds (
        package, version, built_by, duration, status, abi_tag, failure_class, failure_detail,
        failure_lines, retry_at
    )
        VALUES (
            pkg, ver, slave_id, make_interval(secs => duration_ms / 1000), ok, builder_abi,
            CASE WHEN ok THEN NULL ELSE left(fail_class, 20) END,
            CASE WHEN ok THEN '' ELSE left(COALESCE(fail_detail, ''), 200) END,
            CASE WHEN ok THEN '' ELSE left(COALESCE(fail_lines, ''), 1000) END,
            retry
        )
        RETURNING build_id INTO new_id;
    IF retry IS NOT NULL THEN
        INSERT INTO retries_pending (build_id, retry_at) VALUES (new_id, retry);
    END IF;
    IF ok AND jsonb_array_length(COALESCE(bfiles, '[]')) > 0 THEN
        DELETE FROM files
            WHERE filename IN (SELECT f ->> 'filename' FROM jsonb_array_elements(bfiles) f);
        INSERT INTO files (
            filename, build_id, filesize, filehash, package_tag, package_version_tag,
            py_version_tag, abi_tag, platform_tag, requires_python, location
        )
        SELECT
            f.filename, new_id, f.filesize, f.filehash, f.package_tag, f.package_version_tag,
            f.py_version_tag, f.abi_tag, f.platform_tag, f.requires_python,
            COALESCE(f.location, '/simple')
        FROM jsonb_to_recordset(bfiles) AS f(
            filename VARCHAR, filesize INTEGER, filehash CHAR(64), package_tag VARCHAR,
            package_version_tag VARCHAR, py_version_tag VARCHAR, abi_tag VARCHAR,
            platform_tag VARCHAR, requires_python VARCHAR, location VARCHAR
        );
        INSERT INTO dependencies (filename, tool, dependency)
        SELECT DISTINCT f ->> 'filename', d.key, dep.value
        FROM jsonb_array_elements(bfiles) f
        CROSS JOIN LATERAL jsonb_each(COALESCE(f -> 'dependencies', '{}')) d
        CROSS JOIN LATERAL jsonb_array_elements_text(d.value) dep;
    END IF;
    RETURN new_id;
END;
$sql$;

-- Queue again the versions whose failed builds' retry time has come (TheArchitect calls this
-- before reading the queue); returns how many retries fell due.
CREATE FUNCTION requeue_due_retries() RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    due RECORD;
    n INTEGER := 0;
BEGIN
    FOR due IN
        WITH gone AS (
            DELETE FROM retries_pending WHERE retry_at <= now() RETURNING build_id
        )
        SELECT DISTINCT b.package, b.version
        FROM gone g JOIN builds b ON b.build_id = g.build_id
    LOOP
        PERFORM refresh_version_queue(due.package, due.version);
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$sql$;

-- Retry now the failed builds that stop their versions being built (the latest failure on an
-- ABI, retried or not), of one version, one package (ver NULL) or every package (pkg NULL),
-- optionally only those of one failure class; returns how many builds will be tried again.
CREATE FUNCTION retry_builds(pkg VARCHAR, ver VARCHAR, fclass VARCHAR) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    n INTEGER;
BEGIN
    WITH retried AS (
        UPDATE builds b SET retry_at = now()
        WHERE NOT b.status
        AND (b.retry_at IS NULL OR b.retry_at > now())
        AND (pkg IS NULL OR b.package = pkg)
        AND (ver IS NULL OR b.version = ver)
        AND (fclass IS NULL OR b.failure_class = fclass)
        RETURNING b.build_id
    ),
    gone AS (
        DELETE FROM retries_pending r USING retried WHERE r.build_id = retried.build_id
    )
    SELECT count(*) INTO n FROM retried;
    RETURN n;
END;
$sql$;

-- CloudGazer's retries: targets is a JSON array of [package, version] that just got a source
-- file on PyPI; their "no sdist" failures are retried now. Returns how many builds.
CREATE FUNCTION retry_no_sdist(targets JSONB) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    n INTEGER := 0;
    target JSONB;
BEGIN
    FOR target IN SELECT value FROM jsonb_array_elements(targets) LOOP
        -- Most sources are for versions never built: a cheap look first.
        IF EXISTS (
            SELECT 1 FROM builds
            WHERE package = target->>0 AND version = target->>1 AND failure_class = 'no-sdist'
        ) THEN
            n := n + retry_builds(target->>0, target->>1, 'no-sdist');
        END IF;
    END LOOP;
    RETURN n;
END;
$sql$;

-- Failed builds of the last 7 days by failure class ('' for those recorded before classes),
-- with the retries pending under 'retries pending', for the home page.
CREATE FUNCTION get_failure_counts() RETURNS JSONB
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT COALESCE(jsonb_object_agg(k, n), '{}')
    FROM (
        SELECT COALESCE(failure_class, '') AS k, count(*) AS n
        FROM builds
        WHERE built_at > now() - INTERVAL '7 days' AND NOT status
        GROUP BY 1
        UNION ALL
        SELECT 'retries pending', count(*) FROM retries_pending
    ) c
$sql$;

CREATE OR REPLACE FUNCTION get_project_data(pkg VARCHAR) RETURNS JSON
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
AS $fn$
BEGIN
    RETURN (
    WITH pkg_builds AS (
        SELECT * FROM builds WHERE package = pkg
    ),
    pkg_files AS (
        SELECT f.*, b.version, b.abi_tag AS builder_abi
        FROM files f
        JOIN pkg_builds b ON b.build_id = f.build_id
        WHERE b.status
    ),
    abis AS (
        SELECT abi_tag, skip FROM build_abis
        UNION
        SELECT DISTINCT abi_tag, '' FROM pkg_builds
        WHERE abi_tag NOT IN (SELECT abi_tag FROM build_abis)
    ),
    release_abis AS (
        SELECT
            v.version,
            a.abi_tag,
            (SELECT max(b.build_id) FROM pkg_builds b
                WHERE b.version = v.version AND b.status AND (
                    b.abi_tag = a.abi_tag
                    OR EXISTS (
                        SELECT 1 FROM pkg_files f
                        WHERE f.build_id = b.build_id AND (
                            f.abi_tag IN (a.abi_tag, 'none')
                            OR (f.abi_tag = 'abi3' AND abi3_covers(f.py_version_tag, a.abi_tag))
                        )
                    )
                )
            ) AS success_id,
            (SELECT max(b.build_id) FROM pkg_builds b
                WHERE b.version = v.version AND b.abi_tag = a.abi_tag) AS attempt_id,
            v.skip <> '' OR p.skip <> '' OR v.yanked OR a.skip <> '' AS skipped
        FROM versions v
        JOIN packages p ON p.package = v.package
        CROSS JOIN abis a
        WHERE v.package = pkg
    )
    SELECT json_build_object(
        'package', p.package,
        'name', COALESCE(
            (SELECT n.name FROM package_names n WHERE n.package = p.package
                ORDER BY n.seen DESC, n.name LIMIT 1),
            p.package),
        'description', p.description,
        'skip', p.skip,
        'aliases', COALESCE(
            (SELECT json_agg(n.name ORDER BY n.name) FROM package_names n
                WHERE n.package = p.package AND n.name <> p.package),
            '[]'),
        'releases', COALESCE((
            SELECT json_agg(json_build_object(
                'version', v.version,
                'released', v.released,
                'skip', CASE WHEN v.skip <> '' THEN v.skip ELSE p.skip END,
                'yanked', v.yanked,
                'queuedAbi', v.queued_abi,
                'builds', COALESCE((
                    SELECT json_agg(json_build_object(
                        'buildId', b.build_id,
                        'abiTag', b.abi_tag,
                        'status', b.status,
                        'builtAt', b.built_at,
                        'builtBy', b.built_by,
                        'durationMs', extract(EPOCH FROM b.duration) * 1000,
                        'failureClass', b.failure_class,
                        'failureDetail', b.failure_detail,
                        'failureLines', b.failure_lines,
                        'retryAt', b.retry_at
                    ) ORDER BY b.build_id)
                    FROM pkg_builds b WHERE b.version = v.version
                ), '[]'),
                'files', COALESCE((
                    SELECT json_agg(json_build_object(
                        'filename', f.filename,
                        'buildId', f.build_id,
                        'filesize', f.filesize,
                        'filehash', f.filehash,
                        'packageTag', f.package_tag,
                        'packageVersionTag', f.package_version_tag,
                        'pyVersionTag', f.py_version_tag,
                        'abiTag', f.abi_tag,
                        'platformTag', f.platform_tag,
                        'requiresPython', f.requires_python,
                        'location', f.location,
                        'builderAbi', f.builder_abi,
                        'aptDependencies', COALESCE((
                            SELECT json_agg(d.dependency ORDER BY d.dependency)
                            FROM dependencies d
                            WHERE d.filename = f.filename AND d.tool = 'apt'
                            AND NOT EXISTS (
                                SELECT 1 FROM preinstalled_apt_packages i
                                WHERE i.abi_tag = f.builder_abi AND i.apt_package = d.dependency
                            )
                        ), '[]'),
                        'pipDependencies', COALESCE((
                            SELECT json_agg(d.dependency ORDER BY d.dependency)
                            FROM dependencies d
                            WHERE d.filename = f.filename AND d.tool = 'pip'
                        ), '[]')
                    ) ORDER BY f.filename)
                    FROM pkg_files f WHERE f.version = v.version
                ), '[]'),
                'abis', COALESCE((
                    SELECT json_object_agg(r.abi_tag, json_build_object(
                        'status', CASE
                            WHEN r.success_id IS NOT NULL THEN 'success'
                            WHEN r.attempt_id IS NOT NULL THEN 'fail'
                            WHEN r.skipped THEN 'skip'
                            ELSE 'pending'
                        END,
                        'buildId', COALESCE(r.success_id, r.attempt_id)
                    ) ORDER BY abi_order(r.abi_tag), r.abi_tag)
                    FROM release_abis r WHERE r.version = v.version
                ), '{}')
            ) ORDER BY v.released DESC, v.version DESC)
            FROM versions v WHERE v.package = p.package
        ), '[]')
    )
    FROM packages p
    WHERE p.package = pkg);
END;
$fn$;

DO $sql$
DECLARE
    username TEXT := current_setting('piw.username');
BEGIN
    EXECUTE format('GRANT SELECT ON retries_pending TO %I', username);
    REVOKE ALL PRIVILEGES ON FUNCTION
        log_build(VARCHAR, VARCHAR, INTEGER, DOUBLE PRECISION, BOOLEAN, VARCHAR, JSONB, VARCHAR,
            VARCHAR, VARCHAR, DOUBLE PRECISION[]),
        requeue_due_retries(), retry_builds(VARCHAR, VARCHAR, VARCHAR), retry_no_sdist(JSONB),
        get_failure_counts()
        FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION '
        'log_build(VARCHAR, VARCHAR, INTEGER, DOUBLE PRECISION, BOOLEAN, VARCHAR, JSONB, VARCHAR, '
        'VARCHAR, VARCHAR, DOUBLE PRECISION[]), '
        'requeue_due_retries(), retry_builds(VARCHAR, VARCHAR, VARCHAR), retry_no_sdist(JSONB), '
        'get_failure_counts() TO %I', username);
END
$sql$;

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

-- With issue 17/1-2's rule above (a failure whose retry time has come covers nothing).
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
        JOIN abis a ON (a.abi_tag = b.abi_tag AND (b.retry_at IS NULL OR b.retry_at > now()))
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

-- issue 17 metrics wiring: builds of the last hour by failure class too, and retries pending per
-- ABI (the return type changes: DROP, then CREATE, then grant again).

DROP FUNCTION get_builds_last_hour();

CREATE FUNCTION get_builds_last_hour() RETURNS TABLE (
    abi_tag VARCHAR, status BOOLEAN, failure_class VARCHAR, builds BIGINT
)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT b.abi_tag, b.status, b.failure_class, count(*)
    FROM builds b
    WHERE b.built_at > now() - INTERVAL '1 hour'
    GROUP BY b.abi_tag, b.status, b.failure_class
    ORDER BY b.abi_tag, b.status, b.failure_class
$sql$;

CREATE FUNCTION get_retries_pending() RETURNS TABLE (abi_tag VARCHAR, retries BIGINT)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT b.abi_tag, count(*)
    FROM retries_pending r JOIN builds b ON b.build_id = r.build_id
    GROUP BY b.abi_tag
    ORDER BY b.abi_tag
$sql$;

DO $sql$
DECLARE
    username TEXT := current_setting('piw.username');
BEGIN
    REVOKE ALL PRIVILEGES ON FUNCTION get_builds_last_hour(), get_retries_pending() FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION get_builds_last_hour(), get_retries_pending() TO %I',
        username);
END
$sql$;

-- issue 17 part 2: a missing-library failure is retried when a piw slave of its ABI reports
-- having the library (HAVE on the extras queue).

-- A piw slave of builder ABI abi has the headers, libraries and tools named in names (a JSON
-- array, HAVE on the extras queue): retry now that ABI's missing-library failures whose detail
-- is one of them (a versioned "python3.X/Python.h" counts as "Python.h"). Returns how many builds.
CREATE FUNCTION retry_missing_libraries(abi VARCHAR, names JSONB) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    n INTEGER;
BEGIN
    WITH have AS (
        SELECT value AS name FROM jsonb_array_elements_text(names)
    ),
    retried AS (
        UPDATE builds b SET retry_at = now()
        WHERE NOT b.status
        AND b.failure_class = 'missing-library'
        AND b.abi_tag = abi
        AND (b.retry_at IS NULL OR b.retry_at > now())
        AND (
            b.failure_detail IN (SELECT name FROM have)
            OR (b.failure_detail LIKE '%/Python.h' AND 'Python.h' IN (SELECT name FROM have))
        )
        RETURNING b.build_id
    ),
    gone AS (
        DELETE FROM retries_pending r USING retried WHERE r.build_id = retried.build_id
    )
    SELECT count(*) INTO n FROM retried;
    RETURN n;
END;
$sql$;

DO $sql$
DECLARE
    username TEXT := current_setting('piw.username');
BEGIN
    REVOKE ALL PRIVILEGES ON FUNCTION retry_missing_libraries(VARCHAR, JSONB) FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION retry_missing_libraries(VARCHAR, JSONB) TO %I',
        username);
END
$sql$;

-- issue 14: one function retries builds now (retry_now); retry_builds, retry_no_sdist and
-- retry_missing_libraries choose the builds and call it.

-- Retry now those of the builds ids that failed and are not due yet, acting on their pending
-- retries; returns how many builds will be tried again. The one way the retry functions below
-- (run as their owner) retry builds; not the master's to call (see Grants).
CREATE FUNCTION retry_now(ids INTEGER[]) RETURNS INTEGER
LANGUAGE sql
SET search_path = public, pg_temp
AS $sql$
    WITH retried AS (
        UPDATE builds b SET retry_at = now()
        WHERE b.build_id = ANY(ids)
        AND NOT b.status
        AND (b.retry_at IS NULL OR b.retry_at > now())
        RETURNING b.build_id
    ),
    gone AS (
        DELETE FROM retries_pending r USING retried WHERE r.build_id = retried.build_id
    )
    SELECT count(*)::INTEGER FROM retried
$sql$;

-- Retry now the failed builds that stop their versions being built (the latest failure on an
-- ABI, retried or not), of one version, one package (ver NULL) or every package (pkg NULL),
-- optionally only those of one failure class; returns how many builds will be tried again.
CREATE OR REPLACE FUNCTION retry_builds(pkg VARCHAR, ver VARCHAR, fclass VARCHAR) RETURNS INTEGER
LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
    SELECT retry_now(ARRAY(
        SELECT build_id FROM builds
        WHERE NOT status
        AND (pkg IS NULL OR package = pkg)
        AND (ver IS NULL OR version = ver)
        AND (fclass IS NULL OR failure_class = fclass)
    ))
$sql$;

-- CloudGazer's retries: targets is a JSON array of [package, version] that just got a source
-- file on PyPI; their "no sdist" failures are retried now. Returns how many builds.
CREATE OR REPLACE FUNCTION retry_no_sdist(targets JSONB) RETURNS INTEGER
LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
    SELECT retry_now(ARRAY(
        SELECT b.build_id
        FROM jsonb_array_elements(targets) t
        JOIN builds b ON b.package = t.value->>0 AND b.version = t.value->>1
        WHERE NOT b.status AND b.failure_class = 'no-sdist'
    ))
$sql$;

-- A piw slave of builder ABI abi has the headers, libraries and tools named in names (a JSON
-- array, HAVE on the extras queue): retry now that ABI's missing-library failures whose detail
-- is one of them (a versioned "python3.X/Python.h" counts as "Python.h"). Returns how many builds.
CREATE OR REPLACE FUNCTION retry_missing_libraries(abi VARCHAR, names JSONB) RETURNS INTEGER
LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
    WITH have AS (
        SELECT value AS name FROM jsonb_array_elements_text(names)
    )
    SELECT retry_now(ARRAY(
        SELECT build_id FROM builds
        WHERE NOT status
        AND failure_class = 'missing-library'
        AND abi_tag = abi
        AND (
            failure_detail IN (SELECT name FROM have)
            OR (failure_detail LIKE '%/Python.h' AND 'Python.h' IN (SELECT name FROM have))
        )
    ))
$sql$;

-- retry_now is for the retry functions only: not the master's to call (as in create_piw.sql's
-- Grants, where the master's role may be the owner, as on PGlite).
DO $sql$
DECLARE
    username TEXT := current_setting('piw.username');
BEGIN
    REVOKE ALL PRIVILEGES ON FUNCTION retry_now(INTEGER[]) FROM PUBLIC;
    EXECUTE format('REVOKE EXECUTE ON FUNCTION retry_now(INTEGER[]) FROM %I', username);
END
$sql$;

-- durability: a finished build's log is never lost (logs_pending) --------------------------------
-- The build's output goes into logs_pending in log_build's transaction (a new trailing parameter,
-- build_output); TheScribe deletes a row once its log file is written (logs_written) and writes
-- the logs a crash or a failed web update left (get_pending_logs).

CREATE TABLE logs_pending (
    build_id INTEGER NOT NULL,
    output   TEXT NOT NULL,

    CONSTRAINT logs_pending_pk PRIMARY KEY (build_id),
    CONSTRAINT logs_pending_builds_fk FOREIGN KEY (build_id)
        REFERENCES builds (build_id) ON DELETE CASCADE
);

-- log_build gains a parameter: the old one goes (an overload would be ambiguous to callers).
DROP FUNCTION log_build(
    VARCHAR, VARCHAR, INTEGER, DOUBLE PRECISION, BOOLEAN, VARCHAR, JSONB, VARCHAR, VARCHAR, VARCHAR,
    DOUBLE PRECISION[]
);

-- Log a build with its files and their dependencies; returns the new build_id. bfiles is a JSON
-- array of objects with the files columns plus "dependencies": {tool: [dependency, ...]}. A file
-- already known under the same name moves to this build. Files of failed builds are ignored.
-- A failed build carries its class, detail and lines (src/failures/classify.ts); retry_delays_ms
-- is the master's schedule of retries for a failure that may go away by itself (empty for the
-- others): the nth such failure of the version on this ABI is retried after the nth delay, and
-- one more than the schedule holds is not retried. build_output (not NULL) is the build's log,
-- kept in logs_pending until TheScribe has written its file.
CREATE FUNCTION log_build(
    pkg VARCHAR, ver VARCHAR, slave_id INTEGER, duration_ms DOUBLE PRECISION, ok BOOLEAN,
    builder_abi VARCHAR, bfiles JSONB, fail_class VARCHAR = NULL, fail_detail VARCHAR = '',
    fail_lines VARCHAR = '', retry_delays_ms DOUBLE PRECISION[] = '{}', build_output TEXT = NULL
)
RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    new_id INTEGER;
    tries INTEGER := 0;
    retry TIMESTAMPTZ;
BEGIN
    IF NOT ok AND cardinality(COALESCE(retry_delays_ms, '{}')) > 0 THEN
        SELECT count(*) INTO tries FROM builds
            WHERE package = pkg AND version = ver AND abi_tag = builder_abi
            AND retry_at IS NOT NULL;
        IF tries < cardinality(retry_delays_ms) THEN
            retry := now() + make_interval(secs => retry_delays_ms[tries + 1] / 1000);
        END IF;
    END IF;
    INSERT INTO builds (
        package, version, built_by, duration, status, abi_tag, failure_class, failure_detail,
        failure_lines, retry_at
    )
        VALUES (
            pkg, ver, slave_id, make_interval(secs => duration_ms / 1000), ok, builder_abi,
            CASE WHEN ok THEN NULL ELSE left(fail_class, 20) END,
            CASE WHEN ok THEN '' ELSE left(COALESCE(fail_detail, ''), 200) END,
            CASE WHEN ok THEN '' ELSE left(COALESCE(fail_lines, ''), 1000) END,
            retry
        )
        RETURNING build_id INTO new_id;
    IF retry IS NOT NULL THEN
        INSERT INTO retries_pending (build_id, retry_at) VALUES (new_id, retry);
    END IF;
    IF build_output IS NOT NULL THEN
        INSERT INTO logs_pending (build_id, output) VALUES (new_id, build_output);
    END IF;
    IF ok AND jsonb_array_length(COALESCE(bfiles, '[]')) > 0 THEN
        DELETE FROM files
            WHERE filename IN (SELECT f ->> 'filename' FROM jsonb_array_elements(bfiles) f);
        INSERT INTO files (
            filename, build_id, filesize, filehash, package_tag, package_version_tag,
            py_version_tag, abi_tag, platform_tag, requires_python, location
        )
        SELECT
            f.filename, new_id, f.filesize, f.filehash, f.package_tag, f.package_version_tag,
            f.py_version_tag, f.abi_tag, f.platform_tag, f.requires_python,
            COALESCE(f.location, '/simple')
        FROM jsonb_to_recordset(bfiles) AS f(
            filename VARCHAR, filesize INTEGER, filehash CHAR(64), package_tag VARCHAR,
            package_version_tag VARCHAR, py_version_tag VARCHAR, abi_tag VARCHAR,
            platform_tag VARCHAR, requires_python VARCHAR, location VARCHAR
        );
        INSERT INTO dependencies (filename, tool, dependency)
        SELECT DISTINCT f ->> 'filename', d.key, dep.value
        FROM jsonb_array_elements(bfiles) f
        CROSS JOIN LATERAL jsonb_each(COALESCE(f -> 'dependencies', '{}')) d
        CROSS JOIN LATERAL jsonb_array_elements_text(d.value) dep;
    END IF;
    RETURN new_id;
END;
$sql$;

-- The logs of builds at least min_age_ms old still to be written, after build after_id in id
-- order: at most max_rows, and no more once max_bytes of output are reached (one at least).
CREATE FUNCTION get_pending_logs(
    after_id INTEGER, min_age_ms DOUBLE PRECISION, max_rows INTEGER, max_bytes BIGINT
)
RETURNS TABLE (build_id INTEGER, output TEXT)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT page.build_id, page.output
    FROM (
        SELECT p.build_id, p.output,
            sum(octet_length(p.output)) OVER (ORDER BY p.build_id) - octet_length(p.output)
                AS before
        FROM (
            SELECT l.build_id, l.output
            FROM logs_pending l JOIN builds b ON b.build_id = l.build_id
            WHERE l.build_id > after_id
            AND b.built_at <= now() - make_interval(secs => min_age_ms / 1000)
            ORDER BY l.build_id
            LIMIT max_rows
        ) p
    ) page
    WHERE page.before < max_bytes
    ORDER BY page.build_id
$sql$;

-- The log files of these builds are written: forget their output; returns how many rows went.
CREATE FUNCTION logs_written(ids INTEGER[]) RETURNS INTEGER
LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
    WITH gone AS (DELETE FROM logs_pending WHERE build_id = ANY(ids) RETURNING 1)
    SELECT count(*)::INTEGER FROM gone
$sql$;

DO $sql$
DECLARE
    username TEXT := current_setting('piw.username');
BEGIN
    EXECUTE format('GRANT SELECT ON logs_pending TO %I', username);
    REVOKE ALL PRIVILEGES ON FUNCTION
        log_build(VARCHAR, VARCHAR, INTEGER, DOUBLE PRECISION, BOOLEAN, VARCHAR, JSONB, VARCHAR,
            VARCHAR, VARCHAR, DOUBLE PRECISION[], TEXT),
        get_pending_logs(INTEGER, DOUBLE PRECISION, INTEGER, BIGINT), logs_written(INTEGER[])
        FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION '
        'log_build(VARCHAR, VARCHAR, INTEGER, DOUBLE PRECISION, BOOLEAN, VARCHAR, JSONB, VARCHAR, '
        'VARCHAR, VARCHAR, DOUBLE PRECISION[], TEXT), '
        'get_pending_logs(INTEGER, DOUBLE PRECISION, INTEGER, BIGINT), logs_written(INTEGER[]) '
        'TO %I', username);
END
$sql$;
