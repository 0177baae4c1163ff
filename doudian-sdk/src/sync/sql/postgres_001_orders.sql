-- The synchroniser's tables (PostgreSQL). Times are the platform's Unix seconds.
CREATE TABLE orders (
    shop_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    order_status BIGINT,
    main_status BIGINT,
    create_time BIGINT,
    update_time BIGINT NOT NULL,
    pay_time BIGINT,
    order_amount BIGINT,
    pay_amount BIGINT,
    -- The order as the SDK decoded it, as JSON (encrypted receiver fields as sent).
    body JSON NOT NULL,
    stored_at BIGINT NOT NULL,
    PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX orders_by_update_time ON orders (shop_id, update_time);

-- How far each shop is stored: complete = 1 means every order changed at or before
-- update_time, 0 every order changed before it.
CREATE TABLE sync_checkpoints (
    shop_id TEXT PRIMARY KEY,
    update_time BIGINT NOT NULL,
    complete BIGINT NOT NULL,
    saved_at BIGINT NOT NULL
);

-- Which process syncs which shop, until when.
CREATE TABLE sync_leases (
    shop_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
