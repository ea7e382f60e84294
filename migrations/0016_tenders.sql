-- Tenders (招标, RULES 6, N Art.13-14): an event log per tender, like plan_events.
-- (tender_id, seq) is the primary key; `tenders.last_seq` is the append guard
-- (see auction/store/tender/log.py). A sealed bid is stored as its escrow envelope and its
-- commitment only: no price enters the database before the opening.

CREATE TABLE tenders (
    tender_id   text PRIMARY KEY,
    -- the announced plan it was created from; one tender per plan
    plan_id     text NOT NULL UNIQUE REFERENCES plans (plan_id),
    -- projection of the log, updated in the same statement as each append
    phase       text NOT NULL,
    last_seq    integer NOT NULL CHECK (last_seq >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tender_events (
    tender_id   text NOT NULL REFERENCES tenders (tender_id),
    seq         integer NOT NULL CHECK (seq > 0),
    type        text NOT NULL,
    at          timestamptz NOT NULL,
    payload     jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tender_id, seq)
);
SELECT make_append_only('tender_events');  -- (0015)

-- Qualified tender bidders: the legal name (for the notice after the result) and
-- the bidding token's SHA-256, never the token.
CREATE TABLE tender_bidders (
    tender_id   text NOT NULL REFERENCES tenders (tender_id),
    bidder_no   integer NOT NULL,
    legal_name  text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tender_id, bidder_no)
);
