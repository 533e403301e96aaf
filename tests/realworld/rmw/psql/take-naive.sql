-- One take, read-modify-write: read the stock, then write the value
-- computed here (psql variables), and record the take.
SELECT stock, stock > 0 AS has FROM counter WHERE id = 'acct-1' \gset
\if :has
UPDATE counter SET stock = :stock - 1 WHERE id = 'acct-1';
INSERT INTO taken (id, qty) VALUES ('acct-1', 1);
\endif
