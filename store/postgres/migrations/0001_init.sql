-- 0001_init: the vaults and their audit history.
--
-- Migrate runs this file inside its migration transaction with the
-- search_path set to the store's schema, so names here are unqualified.
-- Statuses, reasons and triggers are stored as the numbers of their Go
-- constants in package status, which the API contract fixes.

-- One row per vault: its current state. Version is the compare-and-swap
-- token of vault.Store.Update: 1 after Create, +1 on every change.
CREATE TABLE vaults (
    id              text COLLATE "C" PRIMARY KEY, -- bytewise order, as Go compares strings
    status          smallint    NOT NULL CHECK (status BETWEEN 1 AND 7),
    reason          smallint    NOT NULL,
    description     text        NOT NULL,
    owner           text        NOT NULL,         -- '' when the vault is not issued
    labels          jsonb       NOT NULL,         -- {"key": "value", ...}
    accounts        jsonb       NOT NULL,         -- [{"id", "name", "login", "pending"}, ...]
    -- The pending activation code: five NULLs when there is none.
    code_hash       bytea,
    code_salt       bytea,
    code_issued_at  timestamptz,
    code_expires_at timestamptz,
    code_attempts   integer,
    version         bigint      NOT NULL CHECK (version >= 1),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT vaults_code_complete
        CHECK (num_nulls(code_hash, code_salt, code_issued_at, code_expires_at, code_attempts) IN (0, 5))
);

-- List by status and by owner walks these in ID order from the cursor and
-- stops after one page, so a page costs the page, not the fleet. Vaults
-- without an owner are never listed by owner, so they stay out of its index.
CREATE INDEX vaults_status_id ON vaults (status, id);
CREATE INDEX vaults_owner_id ON vaults (owner, id) WHERE owner <> '';

-- The audit history: one row per stored change, numbered by the vault
-- version the change produced, so a vault's history is versions 1..n.
CREATE TABLE events (
    vault_id    text COLLATE "C" NOT NULL REFERENCES vaults (id),
    version     bigint      NOT NULL,
    action      text        NOT NULL,
    trigger     smallint    NOT NULL,  -- 0 for changes that are not transitions
    from_status smallint    NOT NULL,
    to_status   smallint    NOT NULL,
    reason      smallint    NOT NULL,
    description text        NOT NULL,
    account     text        NOT NULL,  -- the account an account change concerned, or ''
    actor       text        NOT NULL,
    time        timestamptz NOT NULL,
    PRIMARY KEY (vault_id, version)
);
