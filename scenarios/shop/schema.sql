-- The shop's schema: shopd (inventory, reservations, orders, outbox) and
-- pspd (charges, deliveries) share one database so that every invariant is
-- one SQL query.

CREATE TABLE inventory (
    sku           text PRIMARY KEY,
    stock         integer NOT NULL,
    initial_stock integer,          -- filled from stock on insert: what the run started with
    version       bigint  NOT NULL DEFAULT 0,
    price_cents   bigint  NOT NULL DEFAULT 100
);

CREATE FUNCTION inventory_initial() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.initial_stock IS NULL THEN
        NEW.initial_stock := NEW.stock;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER inventory_initial BEFORE INSERT ON inventory
    FOR EACH ROW EXECUTE FUNCTION inventory_initial();

CREATE TABLE reservations (
    id          bigserial PRIMARY KEY,
    sku         text    NOT NULL REFERENCES inventory (sku),
    qty         integer NOT NULL CHECK (qty > 0),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    released_at timestamptz          -- set by the sweeper when it gives the units back
);
CREATE INDEX reservations_open ON reservations (expires_at) WHERE released_at IS NULL;

-- Order numbers come from a sequence; deliberately no UNIQUE constraint on
-- order_no: uniqueness is what the invariant checks, not what the schema hides.
CREATE SEQUENCE order_no_seq;
CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    order_no    text    NOT NULL,
    status      text    NOT NULL DEFAULT 'placed',   -- placed | paid
    total_cents bigint  NOT NULL,
    charge_id   bigint,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    paid_at     timestamptz
);

CREATE TABLE order_lines (
    order_id    bigint  NOT NULL REFERENCES orders (id),
    sku         text    NOT NULL REFERENCES inventory (sku),
    qty         integer NOT NULL CHECK (qty > 0),
    price_cents bigint  NOT NULL,
    PRIMARY KEY (order_id, sku)
);

-- Carts: lines gathered before a checkout turns them into an order.
CREATE TABLE carts (
    id         bigserial PRIMARY KEY,
    status     text NOT NULL DEFAULT 'open',   -- open | ordered
    order_id   bigint REFERENCES orders (id),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE cart_lines (
    cart_id bigint  NOT NULL REFERENCES carts (id),
    sku     text    NOT NULL,
    qty     integer NOT NULL CHECK (qty > 0),
    PRIMARY KEY (cart_id, sku)
);

-- Written in the same transaction as the change it announces.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    aggregate    text    NOT NULL,     -- 'order-42', 'sku-7'
    seq          bigint  NOT NULL,     -- order of events within the aggregate
    event_type   text    NOT NULL,
    payload      jsonb   NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending ON outbox (id) WHERE processed_at IS NULL;
CREATE INDEX outbox_aggregate ON outbox (aggregate, seq);

-- pspd: every charge it made.  A key, when given, deduplicates.
CREATE TABLE charges (
    id              bigserial PRIMARY KEY,
    order_id        bigint NOT NULL,
    amount_cents    bigint NOT NULL,
    idempotency_key text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- pspd's consumer endpoint: one row per delivery received, duplicates kept.
CREATE TABLE deliveries (
    id          bigserial PRIMARY KEY,
    event_id    bigint NOT NULL,
    aggregate   text   NOT NULL,
    seq         bigint NOT NULL,
    event_type  text   NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- shopd's counters, written once at a clean exit (GET /stats while running).
CREATE TABLE shop_stats (
    pid      integer NOT NULL,
    flags    text    NOT NULL,
    stats    jsonb   NOT NULL,
    at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- ---------------------------------------------------------------------
-- Views the scenarios' invariants read (one short query each).
-- ---------------------------------------------------------------------

-- Where every unit of every SKU is: still in stock, on an order line, or
-- held by an open reservation.  initial_stock = stock + ordered + held.
CREATE VIEW stock_ledger AS
SELECT i.sku, i.initial_stock, i.stock,
       (SELECT coalesce(sum(qty), 0) FROM order_lines l WHERE l.sku = i.sku) AS ordered,
       (SELECT coalesce(sum(qty), 0) FROM reservations r
         WHERE r.sku = i.sku AND r.released_at IS NULL) AS held
FROM inventory i;

-- Each order's total beside the sum of its lines (NULL: no lines).
CREATE VIEW order_totals AS
SELECT o.id, o.order_no, o.total_cents,
       sum(l.qty * l.price_cents) AS lines_cents, count(l.sku) AS nlines
FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id
GROUP BY o.id;

-- Pairs of events of one aggregate whose first deliveries arrived out of
-- sequence order.
CREATE VIEW delivery_overtakes AS
WITH f AS (SELECT event_id, aggregate, seq, min(id) AS first
           FROM deliveries GROUP BY event_id, aggregate, seq)
SELECT a.aggregate, a.seq, b.seq AS overtaken_by
FROM f a JOIN f b ON a.aggregate = b.aggregate AND a.seq < b.seq AND a.first > b.first;
