-- The synchroniser's tables (SQLite). Times are the platform's Unix seconds.
CREATE TABLE orders (
    shop_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    order_status INTEGER,
    main_status INTEGER,
    create_time INTEGER,
    update_time INTEGER NOT NULL,
    pay_time INTEGER,
    order_amount INTEGER,
    pay_amount INTEGER,
    -- The order as the SDK decoded it, as JSON (encrypted receiver fields as sent).
    body TEXT NOT NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX orders_by_update_time ON orders (shop_id, update_time);

-- How far each shop is stored: complete = 1 means every order changed at or before
-- update_time, 0 every order changed before it.
CREATE TABLE sync_checkpoints (
    shop_id TEXT PRIMARY KEY,
    update_time INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    saved_at INTEGER NOT NULL
);

-- Which process syncs which shop, until when.
CREATE TABLE sync_leases (
    shop_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
