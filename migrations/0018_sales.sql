-- A sale: what applications, deposits, the ledger and the legal clock belong to. Until now
-- that was always a session (auction or listing, 0001); a tender (招标, RULES 6, 0016) takes
-- deposits and has a winner with the same deadlines (RULES 3.4, 8-9, Q31, Q42). The tables of
-- 0003 (and 0009, 0010) keep their names and their `session_id` columns, which now hold a
-- sale's id: a session's or a tender's. Their foreign keys point at `sales`, which every
-- session and every tender joins when it is created (the triggers below), so a row can
-- still only name a sale that exists.

CREATE TABLE sales (
    sale_id text PRIMARY KEY,
    kind    text NOT NULL CHECK (kind IN ('SESSION', 'TENDER')),
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO sales (sale_id, kind) SELECT session_id, 'SESSION' FROM sessions;
INSERT INTO sales (sale_id, kind) SELECT tender_id, 'TENDER' FROM tenders;

-- A new session or tender is a sale: TG_ARGV = (its id column, its kind).
CREATE FUNCTION sales_register() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales (sale_id, kind) VALUES (to_jsonb(NEW) ->> TG_ARGV[0], TG_ARGV[1]);
    RETURN NULL;
END $$;
CREATE TRIGGER sessions_are_sales AFTER INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION sales_register('session_id', 'SESSION');
CREATE TRIGGER tenders_are_sales AFTER INSERT ON tenders
    FOR EACH ROW EXECUTE FUNCTION sales_register('tender_id', 'TENDER');

-- Each table's `session_id` foreign key (named by PostgreSQL's default, `<table>_session_id_fkey`)
-- now references the sale.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['applications', 'ledger_entries', 'session_closings', 'deadlines', 'clock_events',
                             'reoffers', 'settlements', 'deadline_moves', 'portal_applications'] LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I, ADD CONSTRAINT %I FOREIGN KEY (session_id) '
                       'REFERENCES sales (sale_id)', t, t || '_session_id_fkey', t || '_session_id_fkey');
    END LOOP;
END $$;

-- A sale, once registered, stays: what the ledger and the deadlines name is never rewritten.
SELECT make_append_only('sales');  -- (0015)
