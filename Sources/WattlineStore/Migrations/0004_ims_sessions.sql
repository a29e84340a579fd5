-- Sessions of the identity service (docs/identity.md, Sessions).
--
-- successor_enc: the refresh token that replaced previous_refresh_hash, sealed with the IMS key
-- (row = session id), kept only for the grace window after a rotation so that a second tab
-- presenting the old token gets the same successor; cleared afterwards.
-- last_source_enc: the textual IP address of the last sign-in or refresh, sealed (personal data).
-- revoked_reason: why the session ended ('logout', 'logout_everywhere', 'revoked', 'refresh_reuse').
ALTER TABLE ims.sessions
    ADD COLUMN successor_enc    bytea,
    ADD COLUMN last_source_enc  bytea,
    ADD COLUMN revoked_reason   text;

-- Refresh looks a presented token up by its hash as the current or the previous one.
CREATE INDEX sessions_previous_refresh ON ims.sessions (previous_refresh_hash)
    WHERE previous_refresh_hash IS NOT NULL;
-- The sweep that clears successors once their grace window has passed.
CREATE INDEX sessions_successor_pending ON ims.sessions (rotated_at)
    WHERE successor_enc IS NOT NULL;
-- ListSessions: a person's sessions, most recently used first.
CREATE INDEX sessions_identity_last_used ON ims.sessions (identity_id, last_used_at DESC, session_id DESC);

-- Every refresh token a session has rotated away from (SHA-256 only), so that presenting any
-- of them, not only the last, is recognised as reuse and revokes the session. Rows go with
-- their session.
CREATE TABLE ims.retired_refresh_tokens (
    refresh_hash    bytea PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES ims.sessions ON DELETE CASCADE,
    retired_at      timestamptz NOT NULL
);
CREATE INDEX retired_refresh_tokens_session ON ims.retired_refresh_tokens (session_id);
GRANT SELECT, INSERT, DELETE ON ims.retired_refresh_tokens TO wattline_ims;
