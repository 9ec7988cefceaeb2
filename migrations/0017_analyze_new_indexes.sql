-- The query planner's statistics for the indexes of 0016 (D1 recommends PRAGMA optimize after creating
-- an index). On a database that already holds contacts, an index without statistics looks far more
-- selective than it is: the planner took contacts_team_search_idx for the plain Contacts page and
-- sorted every live contact of the team instead of walking contacts_team_created_idx to the page.
PRAGMA optimize;
