-- Deposits (RULES 3.4, Q31), the deposit ledger, the working-day calendar
-- (RULES 9) and the legal clock after the close (RULES 8: Q29, Q31, Q32, Q42),
-- the transaction record (N Art.20) and settlement figures (Q40-Q41).
-- Money is bigint fen; instants are timestamptz (µs, UTC).

CREATE FUNCTION post_trade_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

-- 竞买申请: one bidder, one parcel (session), one dedicated deposit sub-account.
-- bidder_no is set when the deposit qualifies the applicant (in the session's
-- transaction); the bidding token is issued once, later, by an operator
-- (token_issued_at), and only its hash is ever stored (in `bidders`).
CREATE TABLE applications (
    application_id        text PRIMARY KEY,
    session_id            text NOT NULL REFERENCES sessions (session_id),
    kind                  text NOT NULL CHECK (kind IN ('COMPANY', 'PERSON')),
    legal_name            text NOT NULL,
    registration_no       text NOT NULL,           -- 统一社会信用代码 or ID number
    sub_account           text NOT NULL UNIQUE CHECK (sub_account ~ '^[1-9][0-9]{12}$'),
    required_fen          bigint NOT NULL CHECK (required_fen > 0),
    deposit_deadline      timestamptz NOT NULL,
    bidder_no             integer,
    qualified_at          timestamptz,
    qualification_refused text,                    -- the engine's code when a complete deposit could not qualify
    token_issued_at       timestamptz,
    token_issued_by       text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, registration_no),
    UNIQUE (session_id, bidder_no)
);

-- The deposit ledger (auction/domain/ledger.py): entries with postings that sum
-- to zero, append-only. `position` is the order entries were booked in.
CREATE TABLE ledger_entries (
    entry_id     text PRIMARY KEY,
    position     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    at           timestamptz NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('PAYMENT', 'CLOSE_APPLY', 'CLOSE_RELEASE', 'REFUND', 'FORFEIT')),
    reason       text,
    bank_txn_id  text NOT NULL DEFAULT '',
    counterparty text NOT NULL DEFAULT '',
    note         text NOT NULL DEFAULT '',
    session_id   text REFERENCES sessions (session_id),  -- NULL: money to a sub-account nobody holds
    recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ledger_entries_session ON ledger_entries (session_id);

CREATE TABLE ledger_postings (
    entry_id     text NOT NULL REFERENCES ledger_entries (entry_id),
    n            smallint NOT NULL CHECK (n >= 0),
    account_kind text NOT NULL CHECK (account_kind IN
                     ('BANK_CLEARING', 'DEPOSIT', 'HELD_FOR_REFUND', 'APPLIED_TO_PRICE', 'FORFEITED', 'REFUNDED')),
    account_ref  text NOT NULL,
    amount_fen   bigint NOT NULL CHECK (amount_fen <> 0),  -- debit > 0, credit < 0
    PRIMARY KEY (entry_id, n)
);
CREATE INDEX ledger_postings_ref ON ledger_postings (account_ref);

-- Double entry, enforced by the database as well: at commit, every entry that
-- got postings in the transaction sums to zero.
CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT sum(amount_fen) FROM ledger_postings WHERE entry_id = NEW.entry_id) <> 0 THEN
        RAISE EXCEPTION 'ledger entry % does not balance', NEW.entry_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION post_trade_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION post_trade_append_only();
CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION post_trade_append_only();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION post_trade_append_only();

-- Every authenticated bank notification, as received. (bank_id, signature) is
-- the replay guard: the same signed request twice is refused (BANK_REPLAYED).
CREATE TABLE bank_notifications (
    bank_id     text NOT NULL,
    signature   text NOT NULL,
    sent_at     timestamptz NOT NULL,                -- X-Timestamp
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    body        text NOT NULL,
    txn_id      text,
    outcome     text,                                -- the code answered, or COUNTED / QUALIFIED
    PRIMARY KEY (bank_id, signature)
);

-- Working-day calendar years loaded by operators (RULES 9): the year file as
-- `workdays.CalendarYear.to_dict()`. They override the `chinese-calendar` package.
CREATE TABLE calendar_years (
    year      integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2199),
    source    text NOT NULL,
    data      jsonb NOT NULL,
    loaded_by text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- A final session, once its post-trade steps are booked (deposits closed,
-- deadlines created): written in the same transaction as those.
CREATE TABLE session_closings (
    session_id            text PRIMARY KEY REFERENCES sessions (session_id),
    closed_at             timestamptz NOT NULL,
    outcome               text NOT NULL CHECK (outcome IN ('SOLD', 'UNSOLD', 'TERMINATED')),
    winner_bidder_no      integer,
    winner_application_id text REFERENCES applications (application_id),
    price_fen             bigint,
    plan_id               text,
    processed_at          timestamptz NOT NULL DEFAULT now()
);

-- The legal clock: one row per deadline (auction/domain/deadlines.py). `details`
-- is `Deadline.to_dict()`; the other columns are its projection for queries.
CREATE TABLE deadlines (
    deadline_id text PRIMARY KEY,
    session_id  text NOT NULL REFERENCES sessions (session_id),
    kind        text NOT NULL CHECK (kind IN ('DEPOSIT_REFUND', 'RESULT_PUBLICATION', 'CONTRACT_SIGNING', 'Q32_NOTICE')),
    subject     text NOT NULL,
    due_at      timestamptz,
    warn_at     timestamptz,
    state       text NOT NULL CHECK (state IN ('PENDING', 'DONE', 'OVERDUE', 'CALENDAR_MISSING', 'DEFAULTED')),
    details     jsonb NOT NULL,
    warned_at   timestamptz,                         -- when operators were warned (publication)
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deadlines_session ON deadlines (session_id);
CREATE INDEX deadlines_open ON deadlines (state) WHERE state IN ('PENDING', 'OVERDUE', 'CALENDAR_MISSING');

-- What the clock did on its own (Q42 default): WinCancelled, DepositForfeited,
-- ReofferRequested. Each at most once per session.
CREATE TABLE clock_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text NOT NULL REFERENCES sessions (session_id),
    type       text NOT NULL,
    at         timestamptz NOT NULL,
    payload    jsonb NOT NULL,
    UNIQUE (session_id, type)
);
CREATE TRIGGER clock_events_no_update BEFORE UPDATE OR DELETE ON clock_events
    FOR EACH ROW EXECUTE FUNCTION post_trade_append_only();

-- Q42 re-offer: the instruction, and the new draft plan once it is drafted.
CREATE TABLE reoffers (
    session_id   text PRIMARY KEY REFERENCES sessions (session_id),
    old_plan_id  text,
    new_plan_id  text,
    requested_at timestamptz NOT NULL,
    drafted_at   timestamptz,
    note         text NOT NULL DEFAULT ''
);

-- Settlement figures (Q40-Q41) as finance entered them; the latest counts.
CREATE TABLE settlements (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id    text NOT NULL REFERENCES sessions (session_id),
    regime        text NOT NULL,
    pre_reform    boolean NOT NULL,
    land_use_code text,
    figures       jsonb NOT NULL,
    entered_by    text NOT NULL,
    entered_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX settlements_session ON settlements (session_id, id);
CREATE TRIGGER settlements_no_update BEFORE UPDATE OR DELETE ON settlements
    FOR EACH ROW EXECUTE FUNCTION post_trade_append_only();
