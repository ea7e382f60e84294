-- The console's plan forms (auction/entrypoints/console/plans.py): each form drawn
-- carries a random token, claimed here before its command runs. A second submit of
-- the same form (a double click, a resent POST, another node) finds the claim and is
-- answered with the first one's result instead of acting again. A refused command
-- releases its claim, so the corrected form can be sent again.
CREATE TABLE console_form_tokens (
    token       text PRIMARY KEY,
    plan_id     text NOT NULL,
    username    text NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    location    text  -- where the finished form led (NULL while the command runs)
);
CREATE INDEX console_form_tokens_claimed ON console_form_tokens (claimed_at);
