-- The alert rules (dbt_project.yml `alert_rules`) as a table: what the e-mails and the report read for each rule's
-- owner, severity and wording, and what an analyst reads to see what fires when.
with rules as (
    {{ alert_rules_rows() }}
)

select * from rules
