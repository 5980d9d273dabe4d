from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('learning', '0002_label_noise_runs_and_issues'),
    ]

    operations = [
        migrations.AddField(
            model_name='modelrun',
            name='picks_saved_at',
            field=models.DateTimeField(blank=True, help_text="When the run's picks were written to the queue.", null=True),
        ),
    ]
