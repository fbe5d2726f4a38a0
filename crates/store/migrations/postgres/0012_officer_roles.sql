-- Four roles (issue 12): administrator, leader (aggregate figures only), officer, and
-- read-only auditor.
ALTER TABLE officers DROP CONSTRAINT officers_role_check;
ALTER TABLE officers ADD CONSTRAINT officers_role_check
    CHECK (role IN ('admin', 'leader', 'officer', 'auditor'));
