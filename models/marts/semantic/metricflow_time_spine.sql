-- One row per day from three years before the as-of date to one year after: the time spine
-- MetricFlow joins time-based metrics to (models/marts/semantic/_semantic__models.yml). The
-- marts are snapshots as of the as-of date, so metric_time is that date.
with

days as (
    {{ dbt.date_spine(
        'day',
        dbt.dateadd('day', -3 * 365, as_of_date()),
        dbt.dateadd('day', 366, as_of_date()),
    ) }}
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
