-- Accounts designated to two vehicles on the same date: two designation rows
-- of one account (different vehicles, or the same vehicle twice) whose
-- [designated_on, removed_on) ranges overlap.
SELECT a.account_id, a.vehicle_id AS vehicle_id, b.vehicle_id AS other_vehicle_id,
       a.designated_on, b.designated_on AS other_designated_on
FROM vehicle_designations a
JOIN vehicle_designations b
  ON b.account_id = a.account_id
 AND (b.vehicle_id > a.vehicle_id OR (b.vehicle_id = a.vehicle_id AND b.designated_on > a.designated_on))
WHERE a.designated_on < COALESCE(b.removed_on, '9999-12-31')
  AND b.designated_on < COALESCE(a.removed_on, '9999-12-31')
ORDER BY a.account_id
