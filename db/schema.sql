-- mobench store schema, version 5 (PRAGMA user_version = 5).
-- Fresh databases get this text; older ones are upgraded by the steps in
-- db/db_schema.c (docs/DB.md). Rows carry uuids so that databases from
-- different devices merge without collisions; integer ids are local.
-- Times are wall-clock seconds since the epoch; NULL means "not known".

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    fingerprint   TEXT NOT NULL UNIQUE,
    label         TEXT,
    probe_json    TEXT,
    ceilings_json TEXT,
    first_seen    REAL NOT NULL,
    last_seen     REAL NOT NULL
);

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    uuid            TEXT NOT NULL UNIQUE,
    device_id       INTEGER NOT NULL REFERENCES devices(id),
    started         REAL NOT NULL,
    ended           REAL,
    mobench_version TEXT NOT NULL,
    mobench_commit  TEXT NOT NULL,
    cmdline         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted', 'failed')),
    kind            TEXT NOT NULL CHECK (kind IN ('bench', 'sweep')),
    sweep_file      TEXT
);
CREATE INDEX runs_started ON runs(started);
CREATE INDEX runs_device ON runs(device_id, started);

CREATE TABLE cells (
    id             INTEGER PRIMARY KEY,
    uuid           TEXT NOT NULL UNIQUE,
    run_id         INTEGER NOT NULL REFERENCES runs(id),
    model          TEXT NOT NULL,
    model_params   INTEGER,
    weights        TEXT NOT NULL CHECK (weights IN ('synthetic', 'file')),
    weights_sha256 TEXT,
    recipe         TEXT NOT NULL,
    model_size     INTEGER,
    test           TEXT NOT NULL CHECK (test IN ('pp', 'tg', 'pg', 'depth')),
    n_prompt       INTEGER NOT NULL,
    n_gen          INTEGER NOT NULL,
    n_depth        INTEGER NOT NULL,
    n_threads      INTEGER NOT NULL,
    kernel         TEXT,
    status         TEXT NOT NULL CHECK (status IN ('ok', 'skipped', 'failed', 'oom', 'timeout', 'interrupted')),
    reason         TEXT,
    n              INTEGER NOT NULL,
    mean_ts        REAL,
    median_ts      REAL,
    stddev_ts      REAL,
    min_ts         REAL,
    max_ts         REAL,
    cv             REAL,
    ci95_ts        REAL,
    ttft_ms        REAL,
    peak_rss       INTEGER,
    started        REAL NOT NULL,
    ended          REAL NOT NULL,
    roofline_pct   REAL,
    throttled_reps INTEGER NOT NULL DEFAULT 0,
    stop_reason    TEXT,
    cpu_mask       TEXT NOT NULL DEFAULT '0x0',
    cpu_strict     INTEGER NOT NULL DEFAULT 0,
    cluster        TEXT,
    cpus_ran       TEXT
);
CREATE INDEX cells_run ON cells(run_id, started);
CREATE INDEX cells_model ON cells(model, recipe, test);

CREATE TABLE reps (
    cell_id      INTEGER NOT NULL REFERENCES cells(id),
    idx          INTEGER NOT NULL,
    wall_ns      INTEGER NOT NULL,
    tokens_per_s REAL,
    ttft_ms      REAL,
    lat_p50_ms   REAL,
    lat_p90_ms   REAL,
    lat_p99_ms   REAL,
    temp_min     REAL,
    temp_mean    REAL,
    temp_max     REAL,
    freq_min     REAL,
    freq_mean    REAL,
    freq_max     REAL,
    energy_j     REAL,
    throttled    INTEGER NOT NULL,
    read_gbs     REAL,
    PRIMARY KEY (cell_id, idx)
) WITHOUT ROWID;

CREATE TABLE samples (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs(id),
    cell_id INTEGER REFERENCES cells(id),
    t       REAL NOT NULL,
    kind    TEXT NOT NULL,
    sensor  TEXT NOT NULL,
    value   REAL
);
CREATE INDEX samples_run ON samples(run_id, t);
CREATE INDEX samples_cell ON samples(cell_id, t);

CREATE TABLE quality (
    id         INTEGER PRIMARY KEY,
    uuid       TEXT NOT NULL UNIQUE,
    run_id     INTEGER NOT NULL REFERENCES runs(id),
    model      TEXT NOT NULL,
    recipe     TEXT NOT NULL,
    ref_recipe TEXT NOT NULL,
    weights    TEXT NOT NULL CHECK (weights IN ('synthetic', 'file')),
    mean_kld   REAL,
    p99_kld    REAL,
    top1_agree REAL,
    ppl_ratio  REAL,
    n_tokens   INTEGER NOT NULL,
    created    REAL NOT NULL,
    corpus_sha256 TEXT,
    corpus_bytes  INTEGER,
    corpus_tokens INTEGER,
    n_ctx         INTEGER,
    n_chunks      INTEGER,
    model_sha256  TEXT,
    base_sha256   TEXT,
    ppl           REAL,
    ppl_err       REAL,
    ppl_base      REAL,
    kld_err       REAL,
    kld_median    REAL,
    kld_p95       REAL,
    kld_max       REAL
);
CREATE INDEX quality_run ON quality(run_id);
CREATE INDEX quality_model ON quality(model, recipe);
CREATE INDEX quality_model_sha ON quality(model_sha256);
