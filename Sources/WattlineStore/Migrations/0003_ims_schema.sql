-- The identity service's own schema, readable only by wattline_ims. E-mail and profile are
-- encrypted with the IMS data key; e-mail is found through an HMAC blind index; passwords are
-- argon2id PHC strings; tokens are stored only as SHA-256 hashes.

CREATE TABLE ims.data_keys (
    key_id          integer PRIMARY KEY,
    wrapped_key     bytea NOT NULL,
    master_key_id   text NOT NULL,
    status          text NOT NULL CHECK (status IN ('active', 'retired')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ims_data_keys_one_active ON ims.data_keys ((true)) WHERE status = 'active';

CREATE TABLE ims.identities (
    identity_id         uuid PRIMARY KEY,
    email_enc           bytea NOT NULL,
    email_index         bytea NOT NULL UNIQUE,
    password_hash       text,
    profile_enc         bytea,
    platform_operator   boolean NOT NULL DEFAULT false,
    key_id              integer NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    erased_at           timestamptz
);

CREATE TABLE ims.sessions (
    session_id          uuid PRIMARY KEY,
    identity_id         uuid NOT NULL REFERENCES ims.identities ON DELETE CASCADE,
    refresh_hash        bytea NOT NULL UNIQUE,
    previous_refresh_hash bytea,
    rotated_at          timestamptz,
    client_info_enc     bytea,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_used_at        timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    revoked_at          timestamptz
);
CREATE INDEX sessions_identity ON ims.sessions (identity_id);

CREATE TABLE ims.invitations (
    invitation_id       uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL,
    email_index         bytea NOT NULL,
    email_enc           bytea NOT NULL,
    role                text NOT NULL,
    token_hash          bytea NOT NULL UNIQUE,
    invited_by          uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    used_at             timestamptz
);

CREATE TABLE ims.password_resets (
    token_hash          bytea PRIMARY KEY,
    identity_id         uuid NOT NULL REFERENCES ims.identities ON DELETE CASCADE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    used_at             timestamptz
);

CREATE TABLE ims.login_throttle (
    subject             bytea PRIMARY KEY,
    failures            integer NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ims TO wattline_ims;
