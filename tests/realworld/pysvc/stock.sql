-- Schema of stockd.py: counter holds the units left per id; taken records
-- every unit handed out, so "stock + sum(taken.qty) = initial stock" holds
-- unless an update was lost.
CREATE TABLE counter (
    id    text PRIMARY KEY,
    stock integer NOT NULL
);

CREATE TABLE taken (
    n   bigserial PRIMARY KEY,
    id  text NOT NULL REFERENCES counter (id),
    qty integer NOT NULL CHECK (qty > 0)
);
