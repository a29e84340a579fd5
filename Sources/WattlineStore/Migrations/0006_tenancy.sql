-- Tenancy services (WattlineTenancy): the columns the tenancy contract needs beyond 0002.
-- Names, legal names, serial numbers and addresses are sealed with the tenant's data key
-- (columns ending _enc); ids, states, counters and timestamps stay plain for queries.

-- Tenants: details, when they changed, the off-boarding grace period and the channel-id counter.
ALTER TABLE wattline.tenants
    ADD COLUMN legal_name_enc   bytea,
    ADD COLUMN country_code     text NOT NULL DEFAULT '',
    ADD COLUMN updated_at       timestamptz NOT NULL DEFAULT now(),
    -- End of the 30-day grace period; set with offboarding_requested_at, cleared on cancel.
    ADD COLUMN purge_not_before timestamptz,
    -- Set by the purge when it starts; from then on off-boarding can no longer be cancelled.
    ADD COLUMN purge_started_at timestamptz,
    -- The last channel id handed out in this tenant: channel ids are unique per tenant and
    -- only grow (UPDATE … RETURNING takes the tenant row's lock, so ids are never reused).
    ADD COLUMN last_channel_id  bigint NOT NULL DEFAULT 0 CHECK (last_channel_id >= 0);

ALTER TABLE wattline.sites
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Who granted a membership (the inviter for memberships from invitations); NULL when unknown.
ALTER TABLE wattline.memberships
    ADD COLUMN granted_by uuid;

ALTER TABLE wattline.meters
    ADD COLUMN name_enc   bytea,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
-- One meter per Modbus address on a logger's bus.
CREATE UNIQUE INDEX meters_logger_address ON wattline.meters (tenant_id, logger_id, modbus_address);

ALTER TABLE wattline.channels
    ADD COLUMN name_enc   bytea,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX channels_meter ON wattline.channels (tenant_id, meter_id);

-- Sites whose Responsible a member is (revoking a membership checks it; roles list it).
CREATE INDEX sites_tenant_responsible ON wattline.sites (tenant_id, responsible_identity_id);
