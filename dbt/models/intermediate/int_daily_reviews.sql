-- Reviews per store and store-local review date up to D (latest export of each review wins), with the
-- positive ones (rating >= 4) counted apart for the 30-day rate.
with reviews as (

    select * from {{ ref('stg_reviews') }}
    where export_date <= {{ run_date() }}
      and review_date <= {{ run_date() }}

),

ranked as (

    select
        reviews.*,
        {{ latest_version_rank('store_id, review_id') }} as version_rank
    from reviews

),

final as (

    select
        store_id,
        review_date,
        cast(count(*) as bigint) as reviews,
        cast(sum(case when rating >= 4 then 1 else 0 end) as bigint) as positive_reviews
    from ranked
    where version_rank = 1
    group by store_id, review_date

)

select * from final
