-- Re-issuing a lost or exposed bidding token (ReissueToken, BidderTokenReissued).
-- A token belongs to an epoch: 0 for the one first issued, +1 for each re-issue.
-- A connection signed in with an older epoch's token may no longer bid
-- (TOKEN_REVOKED, decided by the engine from the session's log, so every node
-- refuses it); the older token's hash is gone, so it cannot sign in either.
ALTER TABLE bidders ADD COLUMN token_epoch integer NOT NULL DEFAULT 0 CHECK (token_epoch >= 0);

-- Who re-issued, when and why (the last time; every time is in the session's log
-- as BidderTokenReissued and in the operator audit trail).
ALTER TABLE applications
    ADD COLUMN token_reissued_at     timestamptz,
    ADD COLUMN token_reissued_by     text,
    ADD COLUMN token_reissue_reason  text,
    ADD COLUMN token_reissues        integer NOT NULL DEFAULT 0;
