-- Schema of counterd, the end-to-end test service (tests/e2e/service).
-- counter holds the units left per id; taken records every unit handed out,
-- so "stock + sum(taken.qty) = initial stock" holds unless an update was lost.
CREATE TABLE counter (
    id    text PRIMARY KEY,
    stock integer NOT NULL
);

CREATE TABLE taken (
    n   bigserial PRIMARY KEY,
    id  text NOT NULL REFERENCES counter (id),
    qty integer NOT NULL CHECK (qty > 0),
    at  timestamptz NOT NULL DEFAULT now()
);
