-- One take, atomic: a conditional UPDATE and the record of the take in one
-- statement; concurrent takes serialise on the row lock.
WITH t AS (UPDATE counter SET stock = stock - 1 WHERE id = 'acct-1' AND stock >= 1 RETURNING 1)
INSERT INTO taken (id, qty) SELECT 'acct-1', 1 FROM t;
