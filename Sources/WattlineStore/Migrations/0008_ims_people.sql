-- People in the identity service beyond sign-in (docs/identity.md, Invitations, Passwords,
-- Profile): invitation life cycle, password-reset lookups, and reset-request throttling.

-- An invitation is PENDING until used (used_at, accepted_by), revoked (revoked_at) or past
-- expires_at; the state is derived from these columns, never stored.
ALTER TABLE ims.invitations
    ADD COLUMN revoked_at   timestamptz,
    ADD COLUMN accepted_by  uuid;
-- ListInvitations: a tenant's invitations, newest first (keyset pages).
CREATE INDEX invitations_tenant_created ON ims.invitations (tenant_id, created_at DESC, invitation_id DESC);

-- A new reset request replaces the identity's unused tokens; a completed reset consumes one.
CREATE INDEX password_resets_identity ON ims.password_resets (identity_id);

-- Reset requests counted per subject in a fixed window: an e-mail address (0x03 || its blind
-- index, whether or not it has an identity, so a refusal reveals nothing) or a source address
-- (0x04 || HMAC). No address in clear.
CREATE TABLE ims.reset_throttle (
    subject         bytea PRIMARY KEY,
    window_start    timestamptz NOT NULL,
    requests        integer NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON ims.reset_throttle TO wattline_ims;
