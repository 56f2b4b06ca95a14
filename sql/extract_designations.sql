-- Vehicle designations in force on a date.
SELECT account_id, vehicle_id
FROM vehicle_designations
WHERE designated_on <= :as_of
  AND (removed_on IS NULL OR removed_on > :as_of)
