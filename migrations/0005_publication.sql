-- Publication (Q29; docs/publication.md): documents generated from the records,
-- a transactional outbox per channel, and every delivery attempt.

-- 电子监管号 from the national monitoring system, entered by an operator.
CREATE TABLE supervision_numbers (
    plan_id        text PRIMARY KEY REFERENCES plans (plan_id),
    supervision_no text NOT NULL CHECK (supervision_no ~ '^[0-9]{10}[0-9A-Z][0-9]{5}$'),
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per published document, written once (in the transaction of the event
-- that causes it) and never changed: pages, feeds and exports read it.
CREATE TABLE publications (
    document_id   text PRIMARY KEY,
    position      bigint GENERATED ALWAYS AS IDENTITY UNIQUE,  -- publication order (feed, per-parcel order)
    kind          text NOT NULL CHECK (kind IN ('ANNOUNCEMENT', 'RESULT')),
    plan_id       text NOT NULL REFERENCES plans (plan_id),
    parcel_no     text NOT NULL,
    document      jsonb NOT NULL,
    published_at  timestamptz NOT NULL,
    published_by  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (plan_id, kind)
);

-- The outbox: one row per document and configured channel. Delivered in order
-- per (parcel, channel): a row waits while an earlier one of its parcel is not delivered.
CREATE TABLE publication_outbox (
    outbox_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id     text NOT NULL REFERENCES publications (document_id),
    channel         text NOT NULL,
    parcel_no       text NOT NULL,
    state           text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    receipt         text,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, channel)
);
CREATE INDEX publication_outbox_due ON publication_outbox (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX publication_outbox_parcel ON publication_outbox (parcel_no, channel, outbox_id) WHERE state <> 'DELIVERED';

-- Every attempt, written before the request goes out and completed after it:
-- an attempt cut short by a crash stays visible with no finish. No foreign key
-- to the outbox on purpose: the outbox row is locked (FOR UPDATE) while sending.
CREATE TABLE publication_attempts (
    outbox_id    bigint NOT NULL,
    attempt      integer NOT NULL,
    node_id      text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    http_status  integer,
    error        text,
    receipt      text,
    PRIMARY KEY (outbox_id, attempt)
);
