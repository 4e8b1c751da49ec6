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
    RETURN changed;
END;
$sql$;

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
