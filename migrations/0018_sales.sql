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

CREATE FUNCTION sales_register_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales (sale_id, kind) VALUES (NEW.session_id, 'SESSION');
    RETURN NULL;
END $$;
CREATE TRIGGER sessions_are_sales AFTER INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION sales_register_session();

CREATE FUNCTION sales_register_tender() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales (sale_id, kind) VALUES (NEW.tender_id, 'TENDER');
    RETURN NULL;
END $$;
CREATE TRIGGER tenders_are_sales AFTER INSERT ON tenders
    FOR EACH ROW EXECUTE FUNCTION sales_register_tender();

ALTER TABLE applications DROP CONSTRAINT applications_session_id_fkey,
    ADD CONSTRAINT applications_session_id_fkey FOREIGN KEY (session_id) REFERENCES sales (sale_id);
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_session_id_fkey,
    ADD CONSTRAINT ledger_entries_session_id_fkey FOREIGN KEY (session_id) REFERENCES sales (sale_id);
ALTER TABLE session_closings DROP CONSTRAINT session_closings_session_id_fkey,
    ADD CONSTRAINT session_closings_session_id_fkey FOREIGN KEY (session_id) REFERENCES sales (sale_id);
ALTER TABLE deadlines DROP CONSTRAINT deadlines_session_id_fkey,
    ADD CONSTRAINT deadlines_session_id_fkey FOREIGN KEY (session_id) REFERENCES sales (sale_id);
ALTER TABLE clock_events DROP CONSTRAINT clock_events_session_id_fkey,
    ADD CONSTRAINT clock_events_session_id_fkey FOREIGN KEY (session_id) REFERENCES sales (sale_id);
ALTER TABLE reoffers DROP CONSTRAINT reoffers_session_id_fkey,
    ADD CONSTRAINT reoffers_session_id_fkey FOREIGN KEY (session_id) REFERENCES sales (sale_id);
ALTER TABLE settlements DROP CONSTRAINT settlements_session_id_fkey,
    ADD CONSTRAINT settlements_session_id_fkey FOREIGN KEY (session_id) REFERENCES sales (sale_id);
ALTER TABLE deadline_moves DROP CONSTRAINT deadline_moves_session_id_fkey,
    ADD CONSTRAINT deadline_moves_session_id_fkey FOREIGN KEY (session_id) REFERENCES sales (sale_id);
ALTER TABLE portal_applications DROP CONSTRAINT portal_applications_session_id_fkey,
    ADD CONSTRAINT portal_applications_session_id_fkey FOREIGN KEY (session_id) REFERENCES sales (sale_id);
