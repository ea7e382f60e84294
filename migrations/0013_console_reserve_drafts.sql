-- The reserve decision as the committee signs it in the console (Q26): one member
-- prepares it in the browser, which seals the amount to the escrow key and computes
-- the commitment there; the server keeps only what the members sign (the decision
-- record: commitment, never the amount or the salt) and the escrow envelope, and
-- gathers the members' signatures. A new draft replaces the old one (and its
-- signatures) until the decision is sealed; the sealed decision lives where the
-- API path puts it (the plan log, sealed_reserves, reserve_signatures).
CREATE TABLE console_reserve_drafts (
    plan_id                text PRIMARY KEY REFERENCES plans (plan_id),
    draft_id               text NOT NULL,
    prepared_by            text NOT NULL,
    decided_at_us          bigint NOT NULL,
    members                text[] NOT NULL,
    appraisal_id           text NOT NULL,
    floor_price_fen_per_m2 bigint NOT NULL,
    commitment             text,
    key_id                 text,
    nonce                  bytea,
    ciphertext             bytea,
    record                 bytea NOT NULL,
    prepared_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE console_reserve_draft_signatures (
    plan_id    text NOT NULL REFERENCES console_reserve_drafts (plan_id) ON DELETE CASCADE,
    member_id  text NOT NULL,
    signature  bytea NOT NULL,
    signed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, member_id)
);
