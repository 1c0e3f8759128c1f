-- The charge service's own database: one row per charged job.
CREATE TABLE charges (
    job        INTEGER PRIMARY KEY, -- the job that asked for the charge
    card       TEXT    NOT NULL,
    amount     INTEGER NOT NULL,    -- cents
    charged_ns INTEGER NOT NULL     -- when, in the run's virtual time
);
