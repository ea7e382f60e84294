-- The legal clock on a provisional calendar year (RULES 9): a deadline counted
-- through a year whose State Council notice was not loaded yet is recounted when
-- the official year arrives; when that moves its due date, the move is kept here
-- (old and new dates, why) for operators. Append-only, like clock_events.
CREATE TABLE deadline_moves (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deadline_id           text NOT NULL REFERENCES deadlines (deadline_id),
    session_id            text NOT NULL REFERENCES sessions (session_id),
    kind                  text NOT NULL,
    old_due_date          date NOT NULL,
    new_due_date          date NOT NULL,
    old_provisional_years integer[] NOT NULL,
    new_provisional_years integer[] NOT NULL,
    reason                text NOT NULL,
    at                    timestamptz NOT NULL
);
CREATE INDEX deadline_moves_deadline ON deadline_moves (deadline_id);
CREATE INDEX deadline_moves_session ON deadline_moves (session_id);
CREATE TRIGGER deadline_moves_no_update BEFORE UPDATE OR DELETE ON deadline_moves
    FOR EACH ROW EXECUTE FUNCTION post_trade_append_only();
