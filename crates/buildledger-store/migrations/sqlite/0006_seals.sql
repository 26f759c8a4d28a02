-- buildledger schema v6: record seals. No table changes: every record
-- written before v6 gets a `record.sealed` audit entry with the fingerprint
-- of its rows as they are now (migration code after this script), so
-- `audit verify` can check every record from here on.
SELECT 1;
