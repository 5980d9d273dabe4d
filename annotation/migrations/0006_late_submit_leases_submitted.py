"""Data: an annotation stored by a late submit (after its lease expired or was released) left
that lease expired/released. The claim now re-offers items whose lease ended that way, so the
last lease of every such (item, annotator) pair becomes 'submitted'."""

from django.db import migrations

MARK = """
UPDATE annotation_assignment SET state = 'submitted'
WHERE id IN (
    SELECT MAX(a.id) FROM annotation_assignment a
    WHERE EXISTS (
        SELECT 1 FROM annotation_annotation n
        WHERE n.item_id = a.item_id AND n.annotator_id = a.annotator_id
    )
    GROUP BY a.item_id, a.annotator_id
    HAVING SUM(CASE WHEN a.state IN ('active', 'submitted', 'skipped') THEN 1 ELSE 0 END) = 0
)
"""


class Migration(migrations.Migration):
    dependencies = [("annotation", "0005_item_external_id_prefix_index")]

    operations = [migrations.RunSQL(MARK, reverse_sql=migrations.RunSQL.noop)]
