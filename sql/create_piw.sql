-- piw database schema, version 0.2.0 (keep equal to PIW_VERSION in src/version.ts).
--
-- `piw initdb` runs this file statement by statement in one transaction, connected as a cluster
-- superuser, after setting `piw.username` to the ordinary role the master connects as:
--   SELECT set_config('piw.username', 'piwheels', true);
-- That role gets SELECT on tables and EXECUTE on functions and nothing else, so every write goes
-- through the SECURITY DEFINER functions below, which run as the superuser that ran initdb.
--
-- Timestamps are TIMESTAMPTZ (piwheels used UTC in plain TIMESTAMP): values are instants, and
-- both client libraries turn them into JavaScript Dates without guessing a time zone.
--
-- Derived data, kept up to date by triggers so that the two hot queries stay cheap at PyPI scale:
-- * versions.queued_abi: the ABI a version is queued for (the build queue is an index range scan);
-- * built_packages and statistics_deltas: the counters behind get_statistics().
-- refresh_build_queue() and refresh_statistics() recompute them from scratch.
--
-- Upgrade steps (update_<from>_<to>.sql, chained by initdb) set configuration.version to <to>,
-- keep the 'piw' comment on configuration, and grant whatever they create to
-- current_setting('piw.username') as the Grants section at the end does.

-- configuration ---------------------------------------------------------------------------------
-- A single row: the schema version and the last PyPI serial seen.

CREATE TABLE configuration (
    id          INTEGER DEFAULT 1 NOT NULL,
    version     VARCHAR(16) NOT NULL,
    pypi_serial BIGINT DEFAULT 0 NOT NULL,

    CONSTRAINT configuration_pk PRIMARY KEY (id),
    CONSTRAINT configuration_single_row_ck CHECK (id = 1)
);

INSERT INTO configuration (id, version) VALUES (1, '0.2.0');
-- Tells piw's schema from piwheels' (which has a configuration table too); keep it in upgrades.
COMMENT ON TABLE configuration IS 'piw';

-- packages --------------------------------------------------------------------------------------
-- Every package known on PyPI, by canonical (PEP 503) name. A non-empty skip ('deleted',
-- 'development mode', ...) stops all its versions from being built. priority is the operator's
-- (piw add --priority: -1000 to 1000, default 0; higher builds first); downloads_30d is its
-- downloads in the last 30 days, refreshed by refresh_queue_ranks() (see the build queue).

CREATE TABLE packages (
    package     VARCHAR(200) NOT NULL,
    skip        VARCHAR(100) DEFAULT '' NOT NULL,
    description VARCHAR(200) DEFAULT '' NOT NULL,
    priority    INTEGER DEFAULT 0 NOT NULL,
    downloads_30d BIGINT DEFAULT 0 NOT NULL,

    CONSTRAINT packages_pk PRIMARY KEY (package),
    CONSTRAINT packages_package_ck CHECK (package !~ '[[:cntrl:]]'),
    CONSTRAINT packages_priority_ck CHECK (priority BETWEEN -1000 AND 1000)
);

-- package_names ---------------------------------------------------------------------------------
-- The names a package has been seen under on PyPI; the most recently seen is its display name.

CREATE TABLE package_names (
    package VARCHAR(200) NOT NULL,
    name    VARCHAR(200) NOT NULL,
    seen    TIMESTAMPTZ DEFAULT '1970-01-01 00:00:00+00' NOT NULL,

    CONSTRAINT package_names_pk PRIMARY KEY (name),
    CONSTRAINT package_names_package_fk FOREIGN KEY (package)
        REFERENCES packages ON DELETE CASCADE
);

CREATE INDEX package_names_package_seen ON package_names (package, seen DESC);

-- versions --------------------------------------------------------------------------------------
-- Every version of every package, with the PyPI version string as given. queued_abi and
-- queue_rank are derived (see next_build_abi and queue_rank below): never write them by hand.

CREATE TABLE versions (
    package    VARCHAR(200) NOT NULL,
    version    VARCHAR(200) NOT NULL,
    released   TIMESTAMPTZ DEFAULT '1970-01-01 00:00:00+00' NOT NULL,
    skip       VARCHAR(100) DEFAULT '' NOT NULL,
    yanked     BOOLEAN DEFAULT false NOT NULL,
    queued_abi VARCHAR(100),
    queue_rank INTEGER DEFAULT 0 NOT NULL,

    CONSTRAINT versions_pk PRIMARY KEY (package, version),
    CONSTRAINT versions_version_ck CHECK (version !~ '[[:cntrl:]]'),
    CONSTRAINT versions_package_fk FOREIGN KEY (package)
        REFERENCES packages ON DELETE CASCADE
);

CREATE INDEX versions_released ON versions (released);
-- The build queue: per ABI, highest rank first, then oldest release, reading only queued versions.
CREATE INDEX versions_queue ON versions (queued_abi, queue_rank DESC, released, package, version)
    WHERE queued_abi IS NOT NULL;

-- build_abis ------------------------------------------------------------------------------------
-- The ABIs the master builds for (e.g. cp39, cp311), filled in by the administrator.

CREATE TABLE build_abis (
    abi_tag VARCHAR(100) NOT NULL,
    skip    VARCHAR(100) DEFAULT '' NOT NULL,

    CONSTRAINT build_abis_pk PRIMARY KEY (abi_tag),
    CONSTRAINT build_abis_special_ck CHECK (abi_tag NOT IN ('none', 'abi3'))
);

-- builds ----------------------------------------------------------------------------------------
-- Every build attempt, successful or not. built_by is the slave id (0 for imports); abi_tag is
-- the builder's ABI. Build logs are not stored here: they are files in the web output (see
-- logs_pending).

CREATE TABLE builds (
    build_id INTEGER GENERATED BY DEFAULT AS IDENTITY,
    package  VARCHAR(200) NOT NULL,
    version  VARCHAR(200) NOT NULL,
    built_by INTEGER NOT NULL,
    built_at TIMESTAMPTZ DEFAULT now() NOT NULL,
    duration INTERVAL NOT NULL,
    status   BOOLEAN NOT NULL,
    abi_tag  VARCHAR(100) NOT NULL,
    -- Why a failed build failed (src/failures/classify.ts; NULL for a success, or a failure
    -- recorded before 0.2.0), what was missing (a header, library or requirement), and the few
    -- lines of its log that show it.
    failure_class  VARCHAR(20),
    failure_detail VARCHAR(200) DEFAULT '' NOT NULL,
    failure_lines  VARCHAR(1000) DEFAULT '' NOT NULL,
    -- A failure that may go away by itself is tried again from this time on: until then the
    -- build covers its ABI (see next_build_abi), afterwards it no longer does. NULL: never.
    retry_at       TIMESTAMPTZ,

    CONSTRAINT builds_pk PRIMARY KEY (build_id),
    CONSTRAINT builds_unique UNIQUE (package, version, built_at, built_by),
    CONSTRAINT builds_versions_fk FOREIGN KEY (package, version)
        REFERENCES versions ON DELETE CASCADE,
    CONSTRAINT builds_built_by_ck CHECK (built_by >= 0)
);

CREATE INDEX builds_built_at ON builds (built_at);

-- retries_pending -------------------------------------------------------------------------------
-- The failed builds whose retry time has not been acted on yet: requeue_due_retries() takes the
-- due ones (an index range scan) and queues their versions again. Only pending retries are
-- here, so it stays small however many builds there are.

CREATE TABLE retries_pending (
    build_id INTEGER NOT NULL,
    retry_at TIMESTAMPTZ NOT NULL,

    CONSTRAINT retries_pending_pk PRIMARY KEY (build_id),
    CONSTRAINT retries_pending_builds_fk FOREIGN KEY (build_id)
        REFERENCES builds (build_id) ON DELETE CASCADE
);

CREATE INDEX retries_pending_retry_at ON retries_pending (retry_at);

-- logs_pending ----------------------------------------------------------------------------------
-- The output of each build whose log file (logs/AAAA/BBBB/CCCC.txt.gz, written by TheScribe) is
-- not known to be written yet. log_build inserts it in the build's own transaction, so a build
-- is never committed without its log; TheScribe deletes the row once the file exists
-- (logs_written) and writes what a crash or a failed web update left (get_pending_logs). Only
-- logs in flight are here, so it stays small.

CREATE TABLE logs_pending (
    build_id INTEGER NOT NULL,
    output   TEXT NOT NULL,

    CONSTRAINT logs_pending_pk PRIMARY KEY (build_id),
    CONSTRAINT logs_pending_builds_fk FOREIGN KEY (build_id)
        REFERENCES builds (build_id) ON DELETE CASCADE
);

-- files -----------------------------------------------------------------------------------------
-- The wheels of successful builds. The *_tag columns are split out of the filename because the
-- build queue and the project pages need them.

CREATE TABLE files (
    filename            VARCHAR(255) NOT NULL,
    build_id            INTEGER NOT NULL,
    filesize            INTEGER NOT NULL,
    filehash            CHAR(64) NOT NULL,
    package_tag         VARCHAR(200) NOT NULL,
    package_version_tag VARCHAR(200) NOT NULL,
    py_version_tag      VARCHAR(100) NOT NULL,
    abi_tag             VARCHAR(100) NOT NULL,
    platform_tag        VARCHAR(100) NOT NULL,
    requires_python     VARCHAR(100),
    location            VARCHAR(100) DEFAULT '/simple' NOT NULL,

    CONSTRAINT files_pk PRIMARY KEY (filename),
    CONSTRAINT files_builds_fk FOREIGN KEY (build_id)
        REFERENCES builds (build_id) ON DELETE CASCADE
);

CREATE INDEX files_build_id ON files (build_id);

-- dependencies ----------------------------------------------------------------------------------
-- What a wheel needs: apt packages, pip requirements, and ('' tool) libraries nobody provides.

CREATE TABLE dependencies (
    filename   VARCHAR(255) NOT NULL,
    tool       VARCHAR(10) DEFAULT 'apt' NOT NULL,
    dependency VARCHAR(255) NOT NULL,

    CONSTRAINT dependencies_pk PRIMARY KEY (filename, tool, dependency),
    CONSTRAINT dependencies_files_fk FOREIGN KEY (filename)
        REFERENCES files (filename) ON DELETE CASCADE,
    CONSTRAINT dependencies_tool_ck CHECK (tool IN ('apt', 'pip', ''))
);

-- preinstalled_apt_packages ---------------------------------------------------------------------
-- apt packages already in the OS image each build ABI runs on; hidden from dependency lists.

CREATE TABLE preinstalled_apt_packages (
    abi_tag     VARCHAR(100) NOT NULL,
    apt_package VARCHAR(255) NOT NULL,

    CONSTRAINT preinstalled_apt_packages_pk PRIMARY KEY (abi_tag, apt_package),
    CONSTRAINT preinstalled_apt_packages_abi_tag_fk FOREIGN KEY (abi_tag)
        REFERENCES build_abis (abi_tag) ON DELETE CASCADE
);

-- access logs -----------------------------------------------------------------------------------
-- Written by `piw logger` through the master; no keys, append only, at the web server's rate
-- (100,000 rows a second and more), so each index must earn its keep: a b-tree on the filename
-- or package cost more per row than the row itself (measured), and no query looks rows up by
-- them. The one lookup is the last hour's downloads (get_statistics), by a b-tree on
-- accessed_at: it stays a short range scan however the rows arrived (a BRIN index would need
-- them in time order). The other tables get a BRIN index on accessed_at, nearly free per row,
-- for ad-hoc queries by time. Add others by hand as needed.

CREATE TABLE downloads (
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

CREATE INDEX downloads_accessed_at ON downloads (accessed_at);

CREATE TABLE searches (
    package            VARCHAR(200) NOT NULL,
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

CREATE INDEX searches_accessed_at ON searches USING brin (accessed_at);

CREATE TABLE project_page_hits (
    package     VARCHAR(200) NOT NULL,
    accessed_by INET NOT NULL,
    accessed_at TIMESTAMPTZ NOT NULL,
    user_agent  VARCHAR(2000),
    bot         BOOLEAN DEFAULT false NOT NULL
);

CREATE INDEX project_page_hits_accessed_at ON project_page_hits USING brin (accessed_at);

CREATE TABLE project_json_downloads (
    package     VARCHAR(200) NOT NULL,
    accessed_by INET NOT NULL,
    accessed_at TIMESTAMPTZ NOT NULL,
    user_agent  VARCHAR(2000)
);

CREATE INDEX project_json_downloads_accessed_at ON project_json_downloads USING brin (accessed_at);

CREATE TABLE web_page_hits (
    page        VARCHAR(30) NOT NULL,
    accessed_by INET NOT NULL,
    accessed_at TIMESTAMPTZ NOT NULL,
    user_agent  VARCHAR(2000),
    bot         BOOLEAN DEFAULT false NOT NULL
);

CREATE INDEX web_page_hits_accessed_at ON web_page_hits USING brin (accessed_at);

-- pip's fetches of a wheel's PEP 658 core metadata (`<wheel>.metadata`), before it picks a
-- version: neither downloads nor searches. filename is the wheel's.
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

-- rewrites_pending ------------------------------------------------------------------------------
-- The secretary's buffer of pages to rewrite, saved at shutdown and reloaded at start.

CREATE TABLE rewrites_pending (
    package  VARCHAR(200) NOT NULL,
    added_at TIMESTAMPTZ NOT NULL,
    command  VARCHAR(8) NOT NULL,

    CONSTRAINT rewrites_pending_pk PRIMARY KEY (package),
    CONSTRAINT rewrites_pending_command_ck CHECK (command IN ('PROJECT', 'BOTH'))
);

-- built_packages (derived) ----------------------------------------------------------------------
-- Packages with at least one successful build, so packages_built is a counter, not a DISTINCT.

CREATE TABLE built_packages (
    package VARCHAR(200) NOT NULL,

    CONSTRAINT built_packages_pk PRIMARY KEY (package),
    CONSTRAINT built_packages_package_fk FOREIGN KEY (package)
        REFERENCES packages ON DELETE CASCADE
);

-- statistics_deltas (derived) -------------------------------------------------------------------
-- Counter changes, appended by triggers and folded together by get_statistics(). Appending
-- instead of updating one row means concurrent builds and downloads never wait for (or deadlock
-- on) a shared counter row. Counters: packages_built, files_count, builds_size (bytes, armv6l
-- twins excluded), builds_time (microseconds, builds under a week), builds_pending labelled by
-- ABI, and downloads and metadata_fetches labelled by UTC day (YYYY-MM-DD), so a month's
-- downloads are 30 sums rather than a count of millions of rows.

CREATE TABLE statistics_deltas (
    counter VARCHAR(20) NOT NULL,
    label   VARCHAR(100) DEFAULT '' NOT NULL,
    value   BIGINT NOT NULL
);

-- ABI helpers -----------------------------------------------------------------------------------
-- Pure functions of their arguments, with no search_path setting so the planner can inline them
-- (they call only built-ins).

-- Sort key of a build ABI: CPython ABIs by minor version (cp39 before cp311), others after.
CREATE FUNCTION abi_order(abi VARCHAR) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $sql$
    SELECT COALESCE(substring(abi FROM '^cp3([0-9]+)')::INTEGER, 1000000)
$sql$;

-- Whether an abi3 wheel tagged py_tag (e.g. cp37) serves the CPython ABI abi (cp3Y, Y >= 7).
CREATE FUNCTION abi3_covers(py_tag VARCHAR, abi VARCHAR) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $sql$
    SELECT COALESCE(
        substring(abi FROM '^cp3([0-9]+)')::INTEGER >= substring(py_tag FROM '^cp3([0-9]+)')::INTEGER,
        false)
$sql$;

-- The UTC date of a timestamp.
CREATE FUNCTION utc_date(ts TIMESTAMPTZ) RETURNS DATE
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $sql$
    SELECT (ts AT TIME ZONE 'UTC')::DATE
$sql$;

-- The UTC day of a timestamp, as the label of the downloads counter.
CREATE FUNCTION utc_day(ts TIMESTAMPTZ) RETURNS VARCHAR
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $sql$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')
$sql$;

-- The build queue -------------------------------------------------------------------------------
-- A build ABI is covered for a version by any earlier attempt from a builder of that ABI
-- (successful or not, but not a failure whose retry time has come), and by any wheel that
-- serves it: a wheel for that ABI, a 'none' wheel
-- (serves every ABI) or an abi3 wheel for an older or equal CPython. A buildable version (package
-- and version not skipped, not yanked) is queued for its lowest uncovered active ABI only, so a
-- failed build moves it on to the next ABI and it is never queued for two ABIs at once.

-- The lowest active ABI that nothing covers for (pkg, ver), ignoring skips and yanks. plpgsql,
-- not sql: the versions trigger calls it for every new version, and PostgreSQL plans the query
-- of an sql function (one it cannot inline) again at every call but keeps plpgsql's plans for
-- the session, which makes adding versions several times faster.
CREATE FUNCTION next_build_abi(pkg VARCHAR, ver VARCHAR) RETURNS VARCHAR
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

-- Queue priorities. Each ABI's queue is in order of queue_rank (highest first), then oldest
-- release, then name and version. A version's rank is
--     1000 * its package's priority (the operator's, -1000 to 1000, default 0)
--   +  100 if it is a new release (released in the last 7 days)
--   + its package's popularity: floor(log2(downloads in the last 30 days + 1)), 0 to 62
-- so an operator's priority beats everything, a new release beats any backlog, and a package
-- downloaded twice as often as another goes first. The rank is kept in versions (for the index)
-- for queued versions only: set when a version is queued, when its package's priority or
-- popularity changes, and by refresh_queue_ranks(), which TheArchitect runs every hour to
-- recount the downloads and let releases age out of "new".

-- The popularity term of a rank (log2, so the ranks move seldom as downloads trickle in).
CREATE FUNCTION queue_popularity(downloads BIGINT) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $sql$
    -- In floating point (numeric's log costs ten times as much); the nudge keeps exact powers
    -- of two from rounding down.
    SELECT LEAST(floor(ln((GREATEST(downloads, 0) + 1)::FLOAT8) / ln(2::FLOAT8) + 1e-9), 62)::INTEGER
$sql$;

-- The rank of a version of a package with this priority and popularity released then.
CREATE FUNCTION queue_rank(prio INTEGER, downloads BIGINT, rel TIMESTAMPTZ) RETURNS INTEGER
LANGUAGE sql STABLE PARALLEL SAFE
AS $sql$
    SELECT prio * 1000
        + CASE WHEN rel > now() - INTERVAL '7 days' THEN 100 ELSE 0 END
        + public.queue_popularity(downloads)
$sql$;

-- Recompute one version's queued_abi (and rank) after its builds or files changed.
CREATE FUNCTION refresh_version_queue(pkg VARCHAR, ver VARCHAR) RETURNS VOID
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

-- Recompute every version's queued_abi (and the pending counters) in a few set operations: the
-- ABIs covered for a version become a bit mask, and the lowest clear bit picks the next ABI.
-- Returns how many versions changed (none, when the triggers kept up).
CREATE FUNCTION refresh_build_queue() RETURNS BIGINT
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

-- Bring every queued version's rank up to date; returns how many changed.
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

-- Recount every package's downloads of the last 30 days (from the access log, by the files'
-- builds), re-rank the queued versions of the packages whose popularity changed, and let the
-- releases of 7 to 30 days ago age out of "new" (by the released index: a master stopped for
-- more than 23 days leaves some "new" until refresh_build_queue()). Periodic, not per download:
-- one pass over a month of downloads, against a join per row of Lumberjack's hot path. Returns
-- how many queued versions changed rank.
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

-- Recompute built_packages and every counter except builds_pending from the tables.
CREATE FUNCTION refresh_statistics() RETURNS VOID
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

-- Triggers keeping the derived data current -----------------------------------------------------

CREATE FUNCTION versions_queue_trigger() RETURNS TRIGGER
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

CREATE TRIGGER versions_queue BEFORE INSERT OR UPDATE OF skip, yanked ON versions
    FOR EACH ROW EXECUTE FUNCTION versions_queue_trigger();

CREATE FUNCTION versions_pending_trigger() RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.queued_abi IS NOT NULL THEN
        INSERT INTO statistics_deltas (counter, label, value)
            VALUES ('builds_pending', OLD.queued_abi, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.queued_abi IS NOT NULL THEN
        INSERT INTO statistics_deltas (counter, label, value)
            VALUES ('builds_pending', NEW.queued_abi, 1);
    END IF;
    RETURN NULL;
END;
$sql$;

-- refresh_build_queue() recounts in bulk; the WHEN test skips the per-row work meanwhile.
CREATE TRIGGER versions_pending_insert AFTER INSERT ON versions
    FOR EACH ROW
    WHEN (NEW.queued_abi IS NOT NULL
        AND current_setting('piw.bulk_refresh', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION versions_pending_trigger();
CREATE TRIGGER versions_pending_update AFTER UPDATE ON versions
    FOR EACH ROW
    WHEN (OLD.queued_abi IS DISTINCT FROM NEW.queued_abi
        AND current_setting('piw.bulk_refresh', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION versions_pending_trigger();
CREATE TRIGGER versions_pending_delete AFTER DELETE ON versions
    FOR EACH ROW
    WHEN (OLD.queued_abi IS NOT NULL
        AND current_setting('piw.bulk_refresh', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION versions_pending_trigger();

CREATE FUNCTION packages_skip_trigger() RETURNS TRIGGER
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

CREATE TRIGGER packages_skip AFTER UPDATE OF skip ON packages
    FOR EACH ROW WHEN (OLD.skip IS DISTINCT FROM NEW.skip)
    EXECUTE FUNCTION packages_skip_trigger();

-- A package's priority or popularity moved: re-rank its queued versions.
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

CREATE FUNCTION build_abis_trigger() RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
BEGIN
    PERFORM refresh_build_queue();
    RETURN NULL;
END;
$sql$;

CREATE TRIGGER build_abis_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON build_abis
    FOR EACH STATEMENT EXECUTE FUNCTION build_abis_trigger();

CREATE FUNCTION builds_trigger() RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM refresh_version_queue(OLD.package, OLD.version);
        IF OLD.duration < INTERVAL '1 week' THEN
            INSERT INTO statistics_deltas (counter, value)
                VALUES ('builds_time', -(extract(EPOCH FROM OLD.duration) * 1000000)::BIGINT);
        END IF;
        -- When a whole package goes, every build's trigger comes here: the first one to find
        -- no successful build left removes the row and the others stop at the first test.
        IF OLD.status
            AND EXISTS (SELECT 1 FROM built_packages WHERE package = OLD.package)
            AND NOT EXISTS (SELECT 1 FROM builds WHERE package = OLD.package AND status)
        THEN
            DELETE FROM built_packages WHERE package = OLD.package;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM refresh_version_queue(NEW.package, NEW.version);
        IF NEW.duration < INTERVAL '1 week' THEN
            INSERT INTO statistics_deltas (counter, value)
                VALUES ('builds_time', (extract(EPOCH FROM NEW.duration) * 1000000)::BIGINT);
        END IF;
        IF NEW.status THEN
            INSERT INTO built_packages (package) VALUES (NEW.package) ON CONFLICT DO NOTHING;
        END IF;
    END IF;
    RETURN NULL;
END;
$sql$;

CREATE TRIGGER builds_changed AFTER INSERT OR UPDATE OR DELETE ON builds
    FOR EACH ROW EXECUTE FUNCTION builds_trigger();

CREATE FUNCTION files_trigger() RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
DECLARE
    pkg VARCHAR;
    ver VARCHAR;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO statistics_deltas (counter, value) VALUES ('files_count', -1);
        IF OLD.platform_tag <> 'linux_armv6l' THEN
            INSERT INTO statistics_deltas (counter, value) VALUES ('builds_size', -OLD.filesize);
        END IF;
        -- Gone already when the delete cascades from builds; the builds trigger covers that.
        SELECT package, version INTO pkg, ver FROM builds WHERE build_id = OLD.build_id;
        IF FOUND THEN
            PERFORM refresh_version_queue(pkg, ver);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO statistics_deltas (counter, value) VALUES ('files_count', 1);
        IF NEW.platform_tag <> 'linux_armv6l' THEN
            INSERT INTO statistics_deltas (counter, value) VALUES ('builds_size', NEW.filesize);
        END IF;
        SELECT package, version INTO pkg, ver FROM builds WHERE build_id = NEW.build_id;
        IF FOUND THEN
            PERFORM refresh_version_queue(pkg, ver);
        END IF;
    END IF;
    RETURN NULL;
END;
$sql$;

CREATE TRIGGER files_changed AFTER INSERT OR UPDATE OR DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION files_trigger();

CREATE FUNCTION built_packages_trigger() RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $sql$
BEGIN
    INSERT INTO statistics_deltas (counter, value)
        VALUES ('packages_built', CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END);
    RETURN NULL;
END;
$sql$;

CREATE TRIGGER built_packages_changed AFTER INSERT OR DELETE ON built_packages
    FOR EACH ROW EXECUTE FUNCTION built_packages_trigger();

-- Per statement, so a batch of downloads adds one delta per UTC day rather than one per row;
-- grouped by date and labelled per group, as to_char on every row cost more than the insert.
CREATE FUNCTION downloads_trigger() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO statistics_deltas (counter, label, value)
            SELECT 'downloads', to_char(day, 'YYYY-MM-DD'), n
            FROM (SELECT utc_date(accessed_at) AS day, count(*) AS n FROM added GROUP BY 1) d;
    ELSE
        INSERT INTO statistics_deltas (counter, label, value)
            SELECT 'downloads', to_char(day, 'YYYY-MM-DD'), -n
            FROM (SELECT utc_date(accessed_at) AS day, count(*) AS n FROM removed GROUP BY 1) d;
    END IF;
    RETURN NULL;
END;
$sql$;

CREATE TRIGGER downloads_added AFTER INSERT ON downloads
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION downloads_trigger();
CREATE TRIGGER downloads_removed AFTER DELETE ON downloads
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION downloads_trigger();

-- The same per-day counter for metadata fetches.
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

-- builds_pending --------------------------------------------------------------------------------
-- The whole build queue: per ABI, highest rank first, then oldest release.

CREATE VIEW builds_pending AS
SELECT
    queued_abi AS abi_tag,
    row_number() OVER (
        PARTITION BY queued_abi ORDER BY queue_rank DESC, released, package, version
    ) AS position,
    package,
    version
FROM versions
WHERE queued_abi IS NOT NULL;

-- The first lim entries of each active ABI's queue, ordered by ABI and position.
CREATE FUNCTION get_build_queue(lim INTEGER) RETURNS TABLE (
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

-- The same, one row per active ABI with its entries as text: package and version on alternate
-- lines, in queue order (names and versions hold no control characters: see their CHECKs). At
-- PyPI scale (400,000 entries) one value per ABI instead of a row per entry is most of the
-- speed, and this text costs a third of the equivalent JSON to build and less to take apart.
CREATE FUNCTION get_build_queue_text(lim INTEGER) RETURNS TABLE (abi_tag VARCHAR, entries TEXT)
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

-- PyPI serial -----------------------------------------------------------------------------------

CREATE FUNCTION get_pypi_serial() RETURNS BIGINT
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT pypi_serial FROM configuration WHERE id = 1
$sql$;

-- Record the last PyPI event seen; it never goes backwards.
CREATE FUNCTION set_pypi_serial(new_serial BIGINT) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    old_serial BIGINT;
BEGIN
    SELECT pypi_serial INTO old_serial FROM configuration WHERE id = 1 FOR UPDATE;
    IF new_serial < old_serial THEN
        RAISE EXCEPTION 'PyPI serial cannot go backwards (from % to %)', old_serial, new_serial
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE configuration SET pypi_serial = new_serial WHERE id = 1;
END;
$sql$;

-- Packages, versions and names ------------------------------------------------------------------
-- The writers are plpgsql even when one statement would do: PostgreSQL plans an sql function's
-- query again at every call (these cannot be inlined), but keeps plpgsql's plans for the session,
-- and CloudGazer calls them for every PyPI event (see apply_changelog).

-- Set a package's priority (see queue_rank); false if there is no such package.
CREATE FUNCTION set_package_priority(pkg VARCHAR, prio INTEGER) RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    UPDATE packages SET priority = prio WHERE package = pkg;
    RETURN FOUND;
END;
$sql$;

-- Where a package stands in the build queues: per ABI with queued versions of it, how many
-- and the position (from 1) of the first.
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

-- Add a package; false if it exists already.
CREATE FUNCTION add_new_package(pkg VARCHAR, skip_reason VARCHAR = '', descr VARCHAR = '')
RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    INSERT INTO packages (package, skip, description)
        VALUES (pkg, COALESCE(skip_reason, ''), left(COALESCE(descr, ''), 200))
        ON CONFLICT DO NOTHING;
    RETURN FOUND;
END;
$sql$;

-- Add a version of a known package (released NULL means unknown: 1970); false if it exists.
CREATE FUNCTION add_new_package_version(
    pkg VARCHAR, ver VARCHAR, rel TIMESTAMPTZ = NULL, skip_reason VARCHAR = ''
)
RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    INSERT INTO versions (package, version, released, skip)
        VALUES (pkg, ver, COALESCE(rel, '1970-01-01 00:00:00+00'), COALESCE(skip_reason, ''))
        ON CONFLICT DO NOTHING;
    RETURN FOUND;
END;
$sql$;

-- Record that pkg was seen under name at seen; a name's last-seen time only moves forward.
CREATE FUNCTION add_package_name(pkg VARCHAR, alt_name VARCHAR, seen_at TIMESTAMPTZ)
RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    INSERT INTO package_names (package, name, seen)
        VALUES (pkg, alt_name, COALESCE(seen_at, '1970-01-01 00:00:00+00'))
        ON CONFLICT (name) DO UPDATE SET seen = GREATEST(package_names.seen, EXCLUDED.seen);
END;
$sql$;

CREATE FUNCTION set_package_description(pkg VARCHAR, descr VARCHAR) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    UPDATE packages SET description = left(COALESCE(descr, ''), 200) WHERE package = pkg;
END;
$sql$;

-- Set (or, with '', clear) the reason not to build any version of pkg.
CREATE FUNCTION skip_package(pkg VARCHAR, reason VARCHAR) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    UPDATE packages SET skip = COALESCE(reason, '') WHERE package = pkg;
END;
$sql$;

-- Set (or, with '', clear) the reason not to build one version.
CREATE FUNCTION skip_package_version(pkg VARCHAR, ver VARCHAR, reason VARCHAR) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    UPDATE versions SET skip = COALESCE(reason, '') WHERE package = pkg AND version = ver;
END;
$sql$;

CREATE FUNCTION delete_package(pkg VARCHAR) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    DELETE FROM packages WHERE package = pkg;
END;
$sql$;

CREATE FUNCTION delete_version(pkg VARCHAR, ver VARCHAR) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    DELETE FROM versions WHERE package = pkg AND version = ver;
END;
$sql$;

CREATE FUNCTION yank_version(pkg VARCHAR, ver VARCHAR) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    UPDATE versions SET yanked = true WHERE package = pkg AND version = ver;
END;
$sql$;

CREATE FUNCTION unyank_version(pkg VARCHAR, ver VARCHAR) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    UPDATE versions SET yanked = false WHERE package = pkg AND version = ver;
END;
$sql$;

-- CloudGazer's batches ---------------------------------------------------------------------------
-- One fetch of PyPI's changelog is applied in one transaction, event by event through the
-- functions above, so a batch costs one round trip and one commit instead of one per write.

-- Mark packages and versions about to be removed as 'deleted' (so nothing builds them while the
-- web and skip queues hear of the removal; apply_changelog removes the rows afterwards).
-- targets: a JSON array of [package, version or null for the whole package].
CREATE FUNCTION mark_deleted(targets JSONB) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    target JSONB;
BEGIN
    FOR target IN SELECT value FROM jsonb_array_elements(targets) LOOP
        IF target->>1 IS NULL THEN
            PERFORM skip_package(target->>0, 'deleted');
        ELSE
            PERFORM skip_package_version(target->>0, target->>1, 'deleted');
        END IF;
    END LOOP;
END;
$sql$;

-- Apply a batch of PyPI package events in order, then the name sightings, then the serial.
-- events: a JSON array of [action, package, version or null, time (Unix seconds), summary or
-- null], action one of create, source (a source file), remove, yank, unyank. An event other
-- than remove adds its package if unknown (skipped new_package_skip) or else writes a non-empty
-- summary that differs; a version event then yanks, unyanks, or adds the version (skipped
-- 'binary only' unless a source file), and a source file for a known 'binary only' version
-- clears the skip. names: a JSON array of [package, name, seen (Unix seconds)].
-- The stored serial must be base_serial (else the batch was applied already, or another writer
-- moved on: nothing is applied) and becomes new_serial, which must not be smaller.
-- Returns one digit per event, the sum of 1 (package added), 2 (version added) and 4 (version's
-- 'binary only' skip cleared).
CREATE FUNCTION apply_changelog(
    events JSONB, names JSONB, new_package_skip VARCHAR, base_serial BIGINT, new_serial BIGINT
)
RETURNS TEXT
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    old_serial BIGINT;
    ev JSONB;
    act TEXT;
    pkg VARCHAR;
    ver VARCHAR;
    descr VARCHAR;
    outcome INTEGER;
    outcomes INTEGER[] := '{}';
BEGIN
    SELECT pypi_serial INTO old_serial FROM configuration WHERE id = 1 FOR UPDATE;
    IF old_serial <> base_serial THEN
        RAISE EXCEPTION 'PyPI serial is % where the batch expects %', old_serial, base_serial
            USING ERRCODE = 'serialization_failure';
    END IF;
    IF new_serial < old_serial THEN
        RAISE EXCEPTION 'PyPI serial cannot go backwards (from % to %)', old_serial, new_serial
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR ev IN SELECT value FROM jsonb_array_elements(events) LOOP
        act := ev->>0;
        pkg := ev->>1;
        ver := ev->>2;
        outcome := 0;
        IF act = 'remove' THEN
            IF ver IS NULL THEN
                PERFORM delete_package(pkg);
            ELSE
                PERFORM delete_version(pkg, ver);
            END IF;
        ELSIF act IN ('create', 'source', 'yank', 'unyank') THEN
            descr := ev->>4;
            IF NOT EXISTS (SELECT 1 FROM packages WHERE package = pkg) THEN
                IF add_new_package(pkg, new_package_skip, COALESCE(descr, '')) THEN
                    outcome := 1;
                END IF;
            END IF;
            IF outcome = 0 AND descr <> '' AND EXISTS (
                SELECT 1 FROM packages WHERE package = pkg AND description <> left(descr, 200)
            ) THEN
                PERFORM set_package_description(pkg, descr);
            END IF;
            IF ver IS NULL THEN
                NULL;
            ELSIF act = 'yank' THEN
                PERFORM yank_version(pkg, ver);
            ELSIF act = 'unyank' THEN
                PERFORM unyank_version(pkg, ver);
            ELSIF add_new_package_version(pkg, ver, to_timestamp((ev->>3)::DOUBLE PRECISION),
                CASE WHEN act = 'source' THEN '' ELSE 'binary only' END) THEN
                outcome := outcome + 2;
            ELSIF act = 'source' AND (
                SELECT CASE WHEN v.skip <> '' THEN v.skip ELSE p.skip END
                FROM versions v JOIN packages p ON p.package = v.package
                WHERE v.package = pkg AND v.version = ver
            ) = 'binary only' THEN
                PERFORM skip_package_version(pkg, ver, '');
                outcome := outcome + 4;
            END IF;
        ELSE
            RAISE EXCEPTION 'unknown PyPI event action %', act
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        outcomes := outcomes || outcome;
    END LOOP;
    PERFORM add_package_name(n->>0, n->>1, to_timestamp((n->>2)::DOUBLE PRECISION))
        FROM jsonb_array_elements(names) n;
    IF new_serial > old_serial THEN
        PERFORM set_pypi_serial(new_serial);
    END IF;
    RETURN array_to_string(outcomes, '');
END;
$sql$;

-- Builds ----------------------------------------------------------------------------------------

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
CREATE FUNCTION retry_builds(pkg VARCHAR, ver VARCHAR, fclass VARCHAR) RETURNS INTEGER
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
CREATE FUNCTION retry_no_sdist(targets JSONB) RETURNS INTEGER
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
CREATE FUNCTION retry_missing_libraries(abi VARCHAR, names JSONB) RETURNS INTEGER
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

-- Forget every build of a version (and so its files), which queues it again.
CREATE FUNCTION delete_build(pkg VARCHAR, ver VARCHAR) RETURNS VOID
LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
    DELETE FROM builds WHERE package = pkg AND version = ver
$sql$;

-- Access logs -----------------------------------------------------------------------------------
-- Over-long strings are cut to their column's width: a log line must not fail for its length.

-- Each function takes a batch: a JSON array of the lumberjack queue's tuples (the message's
-- fields in order, timestamps as ISO 8601 text), inserted in one statement so that a busy web
-- server costs one call per batch; returns the number of rows.

-- Downloads: [filename, host, at, arch, distro_name, distro_version, os_name, os_version,
-- py_name, py_version, installer_name, installer_version, setuptools_version].
CREATE FUNCTION log_downloads(rows JSONB) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    n INTEGER;
BEGIN
    INSERT INTO downloads (
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

-- Metadata fetches: [wheel filename, host, at, ...the client fields of log_downloads].
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

-- Searches: [package, host, at, ...the client fields of log_downloads].
CREATE FUNCTION log_searches(rows JSONB) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    n INTEGER;
BEGIN
    INSERT INTO searches (
        package, accessed_by, accessed_at, arch, distro_name, distro_version, os_name,
        os_version, py_name, py_version, installer_name, installer_version, setuptools_version
    )
    SELECT
        left(r->>0, 200), (r->>1)::INET, (r->>2)::TIMESTAMPTZ, left(r->>3, 100),
        left(r->>4, 100), left(r->>5, 100), left(r->>6, 100), left(r->>7, 100),
        left(r->>8, 100), left(r->>9, 100), left(r->>10, 20), left(r->>11, 100),
        left(r->>12, 100)
    FROM jsonb_array_elements(rows) r;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$sql$;

-- Project page hits: [package, host, at, user agent].
CREATE FUNCTION log_project_hits(rows JSONB) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    n INTEGER;
BEGIN
    INSERT INTO project_page_hits (package, accessed_by, accessed_at, user_agent)
    SELECT left(r->>0, 200), (r->>1)::INET, (r->>2)::TIMESTAMPTZ, left(r->>3, 2000)
    FROM jsonb_array_elements(rows) r;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$sql$;

-- Project JSON downloads: [package, host, at, user agent].
CREATE FUNCTION log_json_downloads(rows JSONB) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    n INTEGER;
BEGIN
    INSERT INTO project_json_downloads (package, accessed_by, accessed_at, user_agent)
    SELECT left(r->>0, 200), (r->>1)::INET, (r->>2)::TIMESTAMPTZ, left(r->>3, 2000)
    FROM jsonb_array_elements(rows) r;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$sql$;

-- Other page hits: [page, host, at, user agent].
CREATE FUNCTION log_page_hits(rows JSONB) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
DECLARE
    n INTEGER;
BEGIN
    INSERT INTO web_page_hits (page, accessed_by, accessed_at, user_agent)
    SELECT left(r->>0, 30), (r->>1)::INET, (r->>2)::TIMESTAMPTZ, left(r->>3, 2000)
    FROM jsonb_array_elements(rows) r;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$sql$;

-- The secretary's buffer ------------------------------------------------------------------------

-- Replace the saved buffer with rows: a JSON array of {package, added_at, command}.
CREATE FUNCTION save_rewrites_pending(rows JSONB) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    DELETE FROM rewrites_pending;
    INSERT INTO rewrites_pending (package, added_at, command)
        SELECT r.package, r.added_at, r.command
        FROM jsonb_to_recordset(COALESCE(rows, '[]')) AS r(
            package VARCHAR, added_at TIMESTAMPTZ, command VARCHAR
        );
END;
$sql$;

-- Statistics ------------------------------------------------------------------------------------

-- Fold the counter deltas into one row per counter. Rows appended meanwhile are not seen by the
-- DELETE, so they stay for the next fold; two folds at once each sum only what they deleted.
CREATE FUNCTION fold_statistics() RETURNS VOID
LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
    WITH gone AS (
        DELETE FROM statistics_deltas RETURNING counter, label, value
    )
    INSERT INTO statistics_deltas (counter, label, value)
        SELECT counter, label, sum(value)
        FROM gone
        GROUP BY counter, label
        HAVING sum(value) <> 0
$sql$;

-- Everything the homepage and monitors need from the database, in one row. Counters come from
-- statistics_deltas (folded here as a side effect); the last hour's builds, versions and
-- downloads are short index range scans. Downloads "last month" are those of the last 30 UTC
-- days, today included.
CREATE FUNCTION get_statistics() RETURNS TABLE (
    packages_built BIGINT,
    builds_last_hour JSONB,
    builds_time_ms DOUBLE PRECISION,
    builds_size BIGINT,
    builds_pending JSONB,
    new_last_hour BIGINT,
    files_count BIGINT,
    downloads_last_hour BIGINT,
    downloads_last_month BIGINT,
    downloads_all BIGINT
)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $sql$
BEGIN
    PERFORM fold_statistics();
    RETURN QUERY
    WITH counters AS (
        SELECT d.counter, d.label, sum(d.value)::BIGINT AS value
        FROM statistics_deltas d
        GROUP BY d.counter, d.label
    ),
    active_abis AS (
        SELECT a.abi_tag FROM build_abis a WHERE a.skip = ''
    )
    SELECT
        COALESCE((SELECT c.value FROM counters c WHERE c.counter = 'packages_built'), 0),
        (SELECT COALESCE(jsonb_object_agg(a.abi_tag, (
            SELECT count(*) FROM builds b
            WHERE b.abi_tag = a.abi_tag AND b.built_at > now() - INTERVAL '1 hour'
        )), '{}') FROM active_abis a),
        COALESCE((SELECT c.value FROM counters c WHERE c.counter = 'builds_time'), 0)::DOUBLE PRECISION
            / 1000,
        COALESCE((SELECT c.value FROM counters c WHERE c.counter = 'builds_size'), 0),
        (SELECT COALESCE(jsonb_object_agg(a.abi_tag, COALESCE((
            SELECT c.value FROM counters c
            WHERE c.counter = 'builds_pending' AND c.label = a.abi_tag
        ), 0)), '{}') FROM active_abis a),
        (SELECT count(*) FROM versions v WHERE v.released > now() - INTERVAL '1 hour'),
        COALESCE((SELECT c.value FROM counters c WHERE c.counter = 'files_count'), 0),
        (SELECT count(*) FROM downloads d WHERE d.accessed_at > now() - INTERVAL '1 hour'),
        COALESCE((SELECT sum(c.value) FROM counters c
            WHERE c.counter = 'downloads' AND c.label > utc_day(now() - INTERVAL '30 days')), 0)::BIGINT,
        COALESCE((SELECT sum(c.value) FROM counters c WHERE c.counter = 'downloads'), 0)::BIGINT;
END;
$sql$;

-- Metadata fetches of the last 30 UTC days (today included) and of all time, from the counters
-- get_statistics() folds (called just before it, by the master).
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

-- Builds of the last hour per builder ABI, result and failure class (NULL for a success or a
-- failure recorded before classes), for the metrics exporter (a range scan of builds_built_at).
-- One row per group that has builds.
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

-- Retries pending (automatic retries not yet due) per ABI of the failed build, for the metrics
-- exporter.
CREATE FUNCTION get_retries_pending() RETURNS TABLE (abi_tag VARCHAR, retries BIGINT)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT b.abi_tag, count(*)
    FROM retries_pending r JOIN builds b ON b.build_id = r.build_id
    GROUP BY b.abi_tag
    ORDER BY b.abi_tag
$sql$;

-- Downloads per package for the search page: (package, last 30 days, all time), every package.
CREATE FUNCTION get_search_index() RETURNS TABLE (
    package VARCHAR, downloads_recent BIGINT, downloads_all BIGINT
)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT p.package, COALESCE(d.recent, 0), COALESCE(d.total, 0)
    FROM packages p
    LEFT JOIN (
        SELECT
            b.package,
            count(*) FILTER (WHERE dl.accessed_at > now() - INTERVAL '30 days') AS recent,
            count(*) AS total
        FROM downloads dl
        JOIN files f ON f.filename = dl.filename
        JOIN builds b ON b.build_id = f.build_id
        GROUP BY b.package
    ) d ON d.package = p.package
$sql$;

-- Project pages ---------------------------------------------------------------------------------

-- Everything a project page needs, as one JSON document (NULL for an unknown package):
-- {package, name (display name), description, skip, aliases, releases: [{version, released,
-- skip (the version's, else the package's), yanked, queuedAbi, builds, files, abis}]}, releases
-- newest first. abis maps each build ABI to {status: success|fail|skip|pending, buildId}; apt
-- dependencies leave out what the builder ABI's OS image has preinstalled.
-- PL/pgSQL, not SQL: a SQL function's body is planned again on every call (some 20 ms for this
-- query, 20 times its run time), where PL/pgSQL keeps the plan for the session, and the scribe
-- asks once per package (100,000 times in a full rebuild) on the oracles' long-lived connections.
CREATE FUNCTION get_project_data(pkg VARCHAR) RETURNS JSON
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

-- Files of one package's successful builds: what its simple index lists.
CREATE FUNCTION get_package_files(pkg VARCHAR) RETURNS TABLE (
    filename VARCHAR, filehash CHAR(64), location VARCHAR, requires_python VARCHAR,
    version VARCHAR, yanked BOOLEAN
)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT f.filename, f.filehash, f.location, f.requires_python, v.version, v.yanked
    FROM builds b
    JOIN files f ON f.build_id = b.build_id
    JOIN versions v ON v.package = b.package AND v.version = b.version
    WHERE b.package = pkg AND b.status
    ORDER BY f.filename
$sql$;

-- Apt dependencies of a file, less what its builder ABI's OS image has preinstalled.
CREATE FUNCTION get_file_apt_dependencies(fname VARCHAR) RETURNS SETOF VARCHAR
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $sql$
    SELECT d.dependency
    FROM dependencies d
    JOIN files f ON f.filename = d.filename
    JOIN builds b ON b.build_id = f.build_id
    WHERE d.filename = fname AND d.tool = 'apt'
    AND NOT EXISTS (
        SELECT 1 FROM preinstalled_apt_packages i
        WHERE i.abi_tag = b.abi_tag AND i.apt_package = d.dependency
    )
    ORDER BY d.dependency
$sql$;

-- Grants ----------------------------------------------------------------------------------------
-- Only the role named by piw.username may connect; it reads tables and calls functions.

DO $sql$
DECLARE
    username TEXT := current_setting('piw.username');
BEGIN
    EXECUTE format('REVOKE ALL PRIVILEGES ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMP ON DATABASE %I TO %I', current_database(), username);
    REVOKE ALL PRIVILEGES ON SCHEMA public FROM PUBLIC;
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', username);
    REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM PUBLIC;
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', username);
    -- The access logs are append-only: Lumberjack COPYs into them (half the work of a function).
    EXECUTE format(
        'GRANT INSERT ON downloads, searches, project_page_hits, project_json_downloads, '
        'web_page_hits, metadata_fetches TO %I', username);
    REVOKE ALL PRIVILEGES ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO %I', username);
    -- Whole-table recomputations are for the administrator, not the master.
    EXECUTE format('REVOKE EXECUTE ON FUNCTION refresh_build_queue() FROM %I', username);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION refresh_statistics() FROM %I', username);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION retry_now(INTEGER[]) FROM %I', username);
END
$sql$;
