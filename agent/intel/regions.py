"""Where each provider region is: name -> (ISO 3166-1 alpha-2 country, city).

The range files name regions, not places. These tables come from the providers' own public region
documentation (OCI "Regions and Availability Domains", AWS "Regions and Zones" / "Local Zones
locations" / "Wavelength Zones", Azure "Azure geographies", Google Cloud "Geography and regions"),
as known when written. `city` is the metro area the provider documents for the region; Azure
documents US regions only by state, so there it is the state. Where a provider names only the
country (AWS "Middle East (UAE)") or the region is not publicly documented, `city` is None, and
where not even the country is documented, both are: a region we cannot place is never guessed.
Names are ASCII (Sao Paulo, Queretaro).

A region absent here (a provider added one after this table) gives no place, never a default.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple


class Place(NamedTuple):
    country: str | None
    city: str | None


NOWHERE = Place(None, None)


def _t(**rows: tuple[str | None, str | None]) -> dict[str, Place]:
    """Keyword rows (`us_east_1=("US", "Ashburn")`) -> the table, underscores back to dashes."""
    return {k.replace("_", "-"): Place(*v) for k, v in rows.items()}


# Oracle Cloud Infrastructure, commercial realm OC1: docs.oracle.com "Regions and Availability
# Domains". OCI names every region after its city. The last eight are newer than the shared
# official file (they appear in the 2026-08 derived list) and are here so newer files place them.
OCI = _t(
    af_johannesburg_1=("ZA", "Johannesburg"), ap_batam_1=("ID", "Batam"),
    ap_chuncheon_1=("KR", "Chuncheon"), ap_hyderabad_1=("IN", "Hyderabad"),
    ap_melbourne_1=("AU", "Melbourne"), ap_mumbai_1=("IN", "Mumbai"),
    ap_osaka_1=("JP", "Osaka"), ap_seoul_1=("KR", "Seoul"), ap_singapore_1=("SG", "Singapore"),
    ap_singapore_2=("SG", "Singapore"), ap_sydney_1=("AU", "Sydney"), ap_tokyo_1=("JP", "Tokyo"),
    ca_montreal_1=("CA", "Montreal"), ca_toronto_1=("CA", "Toronto"),
    eu_amsterdam_1=("NL", "Amsterdam"), eu_dublin_3=("IE", "Dublin"),
    eu_frankfurt_1=("DE", "Frankfurt"), eu_jovanovac_1=("RS", "Jovanovac"),
    eu_madrid_1=("ES", "Madrid"), eu_marseille_1=("FR", "Marseille"), eu_milan_1=("IT", "Milan"),
    eu_paris_1=("FR", "Paris"), eu_stockholm_1=("SE", "Stockholm"), eu_zurich_1=("CH", "Zurich"),
    il_jerusalem_1=("IL", "Jerusalem"), me_abudhabi_1=("AE", "Abu Dhabi"),
    me_dubai_1=("AE", "Dubai"), me_jeddah_1=("SA", "Jeddah"), me_riyadh_1=("SA", "Riyadh"),
    mx_monterrey_1=("MX", "Monterrey"), mx_queretaro_1=("MX", "Queretaro"),
    sa_bogota_1=("CO", "Bogota"), sa_santiago_1=("CL", "Santiago"),
    sa_saopaulo_1=("BR", "Sao Paulo"), sa_valparaiso_1=("CL", "Valparaiso"),
    sa_vinhedo_1=("BR", "Vinhedo"), uk_cardiff_1=("GB", "Cardiff"), uk_london_1=("GB", "London"),
    us_abilene_1=("US", "Abilene"), us_ashburn_1=("US", "Ashburn"),
    us_boardman_1=("US", "Boardman"), us_chicago_1=("US", "Chicago"),
    us_dallas_1=("US", "Dallas"), us_desmoines_1=("US", "Des Moines"),
    us_phoenix_1=("US", "Phoenix"), us_quincy_1=("US", "Quincy"),
    us_saltlake_2=("US", "Salt Lake City"), us_sanjose_1=("US", "San Jose"),
    af_casablanca_1=("MA", "Casablanca"), ap_delhi_1=("IN", "Delhi"),
    ap_kulai_1=("MY", "Kulai"), eu_madrid_3=("ES", "Madrid"),
    sa_riodejaneiro_2=("BR", "Rio de Janeiro"), us_lenexa_1=("US", "Lenexa"),
    us_sanantonio_1=("US", "San Antonio"), us_shawnee_1=("US", "Shawnee"),
)  # fmt: skip

# Amazon Web Services: docs.aws.amazon.com "Regions and Zones" (the display names, e.g.
# "US East (N. Virginia)"). GLOBAL is no region and is absent on purpose. me-west-1, sa-west-1 and
# us-south-1 are newer than the public region list we know; their country is the one their name
# and announcements give (Saudi Arabia, Chile, US), with no city.
AWS = _t(
    af_south_1=("ZA", "Cape Town"), ap_east_1=("HK", "Hong Kong"), ap_east_2=("TW", "Taipei"),
    ap_northeast_1=("JP", "Tokyo"), ap_northeast_2=("KR", "Seoul"),
    ap_northeast_3=("JP", "Osaka"), ap_south_1=("IN", "Mumbai"), ap_south_2=("IN", "Hyderabad"),
    ap_southeast_1=("SG", "Singapore"), ap_southeast_2=("AU", "Sydney"),
    ap_southeast_3=("ID", "Jakarta"), ap_southeast_4=("AU", "Melbourne"),
    ap_southeast_5=("MY", None), ap_southeast_6=("NZ", "Auckland"), ap_southeast_7=("TH", None),
    ca_central_1=("CA", "Montreal"), ca_west_1=("CA", "Calgary"),
    cn_north_1=("CN", "Beijing"), cn_northwest_1=("CN", "Ningxia"),
    eu_central_1=("DE", "Frankfurt"), eu_central_2=("CH", "Zurich"),
    eu_north_1=("SE", "Stockholm"), eu_south_1=("IT", "Milan"), eu_south_2=("ES", "Aragon"),
    eu_west_1=("IE", "Dublin"), eu_west_2=("GB", "London"), eu_west_3=("FR", "Paris"),
    eusc_de_east_1=("DE", "Brandenburg"), il_central_1=("IL", "Tel Aviv"),
    me_central_1=("AE", None), me_south_1=("BH", None), me_west_1=("SA", None),
    mx_central_1=("MX", "Queretaro"), sa_east_1=("BR", "Sao Paulo"), sa_west_1=("CL", None),
    us_east_1=("US", "Northern Virginia"), us_east_2=("US", "Ohio"),
    us_gov_east_1=("US", None), us_gov_west_1=("US", None), us_south_1=("US", None),
    us_west_1=("US", "Northern California"), us_west_2=("US", "Oregon"),
)  # fmt: skip

# AWS network border groups that are not their region's own: Local Zones
# (<region>-<airport code>-<n>) and Wavelength Zones (<region>-wl<n>-<airport code>-wlz-<n>),
# from AWS "Local Zones locations" and "Wavelength Zones". A Local Zone can be in another country
# than its parent region (us-east-1-bue-1 is Buenos Aires): that is why they are mapped at all.
AWS_BORDER_GROUPS = _t(
    af_south_1_los_1=("NG", "Lagos"), ap_northeast_1_tpe_1=("TW", "Taipei"),
    ap_northeast_1_wl1_kix_wlz_1=("JP", "Osaka"), ap_northeast_1_wl1_nrt_wlz_1=("JP", "Tokyo"),
    ap_northeast_2_wl1_cjj_wlz_1=("KR", "Daejeon"),
    ap_northeast_2_wl1_sel_wlz_1=("KR", "Seoul"),
    ap_south_1_ccu_1=("IN", "Kolkata"), ap_south_1_ccu_2=("IN", "Kolkata"),
    ap_south_1_del_1=("IN", "Delhi"), ap_south_1_del_2=("IN", "Delhi"),
    ap_southeast_1_bkk_1=("TH", "Bangkok"), ap_southeast_1_han_1=("VN", "Hanoi"),
    ap_southeast_1_mnl_1=("PH", "Manila"),
    ap_southeast_1_sggov_sin_1a=("SG", "Singapore"),
    ap_southeast_1_sggov_sin_1b=("SG", "Singapore"),
    ap_southeast_1_sggov_sin_2=("SG", "Singapore"),
    ap_southeast_2_akl_1=("NZ", "Auckland"), ap_southeast_2_per_1=("AU", "Perth"),
    ca_central_1_wl1_yto_wlz_1=("CA", "Toronto"),
    eu_central_1_ath_1=("GR", "Athens"), eu_central_1_ham_1=("DE", "Hamburg"),
    eu_central_1_ist_1=("TR", "Istanbul"), eu_central_1_waw_1=("PL", "Warsaw"),
    eu_central_1_wl1_ber_wlz_1=("DE", "Berlin"), eu_central_1_wl1_dtm_wlz_1=("DE", "Dortmund"),
    eu_central_1_wl1_muc_wlz_1=("DE", "Munich"), eu_north_1_cph_1=("DK", "Copenhagen"),
    eu_north_1_hel_1=("FI", "Helsinki"), eu_west_2_wl1_lon_wlz_1=("GB", "London"),
    eu_west_2_wl1_man_wlz_1=("GB", "Manchester"), eu_west_2_wl2_man_wlz_1=("GB", "Manchester"),
    me_south_1_mct_1=("OM", "Muscat"),
    us_east_1_atl_1=("US", "Atlanta"), us_east_1_atl_2=("US", "Atlanta"),
    us_east_1_bos_1=("US", "Boston"), us_east_1_bue_1=("AR", "Buenos Aires"),
    us_east_1_chi_1=("US", "Chicago"), us_east_1_chi_2=("US", "Chicago"),
    us_east_1_dfw_1=("US", "Dallas"), us_east_1_dfw_2=("US", "Dallas"),
    us_east_1_foe_wlz_1=("US", None), us_east_1_iah_1=("US", "Houston"),
    us_east_1_iah_2=("US", "Houston"), us_east_1_lim_1=("PE", "Lima"),
    us_east_1_mci_1=("US", "Kansas City"), us_east_1_mia_1=("US", "Miami"),
    us_east_1_mia_2=("US", "Miami"), us_east_1_msp_1=("US", "Minneapolis"),
    us_east_1_nyc_1=("US", "New York"), us_east_1_nyc_2=("US", "New York"),
    us_east_1_phl_1=("US", "Philadelphia"), us_east_1_qro_1=("MX", "Queretaro"),
    us_east_1_scl_1=("CL", "Santiago"),
    us_east_1_wl1_atl_wlz_1=("US", "Atlanta"), us_east_1_wl1_bna_wlz_1=("US", "Nashville"),
    us_east_1_wl1_bos_wlz_1=("US", "Boston"), us_east_1_wl1_chi_wlz_1=("US", "Chicago"),
    us_east_1_wl1_clt_wlz_1=("US", "Charlotte"), us_east_1_wl1_dfw_wlz_1=("US", "Dallas"),
    us_east_1_wl1_dtw_wlz_1=("US", "Detroit"), us_east_1_wl1_iah_wlz_1=("US", "Houston"),
    us_east_1_wl1_mia_wlz_1=("US", "Miami"), us_east_1_wl1_msp_wlz_1=("US", "Minneapolis"),
    us_east_1_wl1_nyc_wlz_1=("US", "New York"), us_east_1_wl1_tpa_wlz_1=("US", "Tampa"),
    us_east_1_wl1_was_wlz_1=("US", "Washington"),
    us_east_2_jan_1=("US", None),
    us_west_2_den_1=("US", "Denver"), us_west_2_hnl_1=("US", "Honolulu"),
    us_west_2_las_1=("US", "Las Vegas"), us_west_2_las_1b=("US", "Las Vegas"),
    us_west_2_lax_1=("US", "Los Angeles"), us_west_2_pdx_1=("US", "Portland"),
    us_west_2_phx_1=("US", "Phoenix"), us_west_2_phx_2=("US", "Phoenix"),
    us_west_2_sea_1=("US", "Seattle"),
    us_west_2_wl1_den_wlz_1=("US", "Denver"), us_west_2_wl1_las_wlz_1=("US", "Las Vegas"),
    us_west_2_wl1_lax_wlz_1=("US", "Los Angeles"), us_west_2_wl1_phx_wlz_1=("US", "Phoenix"),
    us_west_2_wl1_sea_wlz_1=("US", "Seattle"), us_west_2_wl1_sfo_wlz_1=("US", "San Francisco"),
)  # fmt: skip

# Microsoft Azure public cloud: learn.microsoft.com "Azure geographies" / region list, keyed by the
# service-tag region names (lower case, some shortened: germanywc, switzerlandn). The *euap
# regions are the canary regions beside eastus2 and centralus; usstagee/usstagec are staging.
# Regions without a documented location (northeurope2, the staging and several new ones) have
# only what their name says for sure.
AZURE_PUBLIC = _t(
    australiacentral=("AU", "Canberra"), australiacentral2=("AU", "Canberra"),
    australiaeast=("AU", "Sydney"), australiasoutheast=("AU", "Melbourne"),
    austriaeast=("AT", "Vienna"), belgiumcentral=("BE", "Brussels"),
    brazilne=("BR", None), brazilse=("BR", "Rio de Janeiro"), brazilsouth=("BR", "Sao Paulo"),
    canadacentral=("CA", "Toronto"), canadaeast=("CA", "Quebec City"),
    centralfrance=("FR", "Paris"), centralindia=("IN", "Pune"), centralus=("US", "Iowa"),
    centraluseuap=("US", "Iowa"), chilec=("CL", "Santiago"), denmarkeast=("DK", "Copenhagen"),
    eastasia=("HK", "Hong Kong"), eastus=("US", "Virginia"), eastus2=("US", "Virginia"),
    eastus2euap=("US", "Virginia"), eastus3=("US", None), germanyn=("DE", "Berlin"),
    germanywc=("DE", "Frankfurt"), indonesiacentral=("ID", "Jakarta"),
    israelcentral=("IL", None), israelnorthwest=("IL", None), italynorth=("IT", "Milan"),
    japaneast=("JP", "Tokyo"), japanwest=("JP", "Osaka"), jioindiacentral=("IN", "Nagpur"),
    jioindiawest=("IN", "Jamnagar"), koreacentral=("KR", "Seoul"), koreasouth=("KR", "Busan"),
    malaysiasouth=("MY", None), malaysiawest=("MY", "Kuala Lumpur"),
    mexicocentral=("MX", "Queretaro"), newzealandnorth=("NZ", "Auckland"),
    northcentralus=("US", "Illinois"), northeurope=("IE", "Dublin"), northeurope2=(None, None),
    norwaye=("NO", "Oslo"), norwayw=("NO", "Stavanger"), polandcentral=("PL", "Warsaw"),
    qatarcentral=("QA", "Doha"), southafricanorth=("ZA", "Johannesburg"),
    southafricawest=("ZA", "Cape Town"), southcentralus=("US", "Texas"),
    southcentralus2=("US", None), southeastasia=("SG", "Singapore"), southeastus=("US", None),
    southeastus3=("US", None), southfrance=("FR", "Marseille"), southindia=("IN", "Chennai"),
    spaincentral=("ES", "Madrid"), swedencentral=("SE", "Gavle"),
    swedensouth=("SE", "Staffanstorp"), switzerlandn=("CH", "Zurich"),
    switzerlandw=("CH", "Geneva"), taiwannorth=("TW", "Taipei"), taiwannorthwest=("TW", None),
    uaecentral=("AE", "Abu Dhabi"), uaenorth=("AE", "Dubai"), uksouth=("GB", "London"),
    ukwest=("GB", "Cardiff"), usstagec=("US", None), usstagee=("US", None),
    westcentralus=("US", "Wyoming"), westeurope=("NL", "Amsterdam"), westindia=("IN", "Mumbai"),
    westus=("US", "California"), westus2=("US", "Washington"), westus3=("US", "Arizona"),
)  # fmt: skip

# Azure Government (US Gov and DoD regions): learn.microsoft.com "Azure Government overview".
AZURE_GOV = _t(
    usdodcentral=("US", "Iowa"), usdodeast=("US", "Virginia"), usgovarizona=("US", "Arizona"),
    usgovtexas=("US", "Texas"), usgovvirginia=("US", "Virginia"),
)  # fmt: skip

AZURE = {**AZURE_PUBLIC, **AZURE_GOV}
"""The two clouds' region names do not collide, so one table serves both files."""

# Google Cloud: cloud.google.com "Geography and regions" (region descriptions such as
# "Ashburn, Virginia"). `global` is no region and is absent on purpose. us-central2 (a TPU-only
# region) and europe-west15 are not in the public region list; europe-west15's country is not
# documented, so it has no place.
GCP = _t(
    africa_south1=("ZA", "Johannesburg"), asia_east1=("TW", "Changhua County"),
    asia_east2=("HK", "Hong Kong"), asia_northeast1=("JP", "Tokyo"),
    asia_northeast2=("JP", "Osaka"), asia_northeast3=("KR", "Seoul"),
    asia_south1=("IN", "Mumbai"), asia_south2=("IN", "Delhi"),
    asia_southeast1=("SG", "Jurong West"), asia_southeast2=("ID", "Jakarta"),
    asia_southeast3=("TH", "Bangkok"), australia_southeast1=("AU", "Sydney"),
    australia_southeast2=("AU", "Melbourne"), europe_central2=("PL", "Warsaw"),
    europe_north1=("FI", "Hamina"), europe_north2=("SE", "Stockholm"),
    europe_southwest1=("ES", "Madrid"), europe_west1=("BE", "St. Ghislain"),
    europe_west10=("DE", "Berlin"), europe_west12=("IT", "Turin"), europe_west15=(None, None),
    europe_west2=("GB", "London"), europe_west3=("DE", "Frankfurt"),
    europe_west4=("NL", "Eemshaven"), europe_west6=("CH", "Zurich"),
    europe_west8=("IT", "Milan"), europe_west9=("FR", "Paris"), me_central1=("QA", "Doha"),
    me_central2=("SA", "Dammam"), me_west1=("IL", "Tel Aviv"),
    northamerica_northeast1=("CA", "Montreal"), northamerica_northeast2=("CA", "Toronto"),
    northamerica_south1=("MX", "Queretaro"), southamerica_east1=("BR", "Sao Paulo"),
    southamerica_west1=("CL", "Santiago"), us_central1=("US", "Council Bluffs"),
    us_central2=("US", None), us_east1=("US", "Moncks Corner"), us_east4=("US", "Ashburn"),
    us_east5=("US", "Columbus"), us_east7=("US", "Alabama"), us_south1=("US", "Dallas"),
    us_west1=("US", "The Dalles"), us_west2=("US", "Los Angeles"),
    us_west3=("US", "Salt Lake City"), us_west4=("US", "Las Vegas"), us_west8=("US", "Phoenix"),
)  # fmt: skip


def place(table: dict[str, Place], region: str | None) -> Place:
    """A region's place; NOWHERE for no region or one the table does not know."""
    return table.get(region, NOWHERE) if region else NOWHERE


def aws_place(region: str | None, border_group: str | None) -> Place:
    """A Local or Wavelength Zone's own place, else its region's."""
    if border_group in AWS_BORDER_GROUPS:
        return AWS_BORDER_GROUPS[border_group]
    return place(AWS, region)


@lru_cache(maxsize=4096)
def at_home(provider: str | None, region: str | None, border_group: str | None) -> bool:
    """Whether a range lies in its region's own country: the region itself, or an AWS zone
    that `AWS_BORDER_GROUPS` places in the same country as its region. A zone this table does
    not know, or one in another country (us-east-1-bue-1, Buenos Aires), is not at home: a
    policy that names the region does not cover it (Houston, us-east-1-iah-1, is)."""
    if provider != "aws" or border_group is None or border_group == region:
        return True
    zone, home = AWS_BORDER_GROUPS.get(border_group, NOWHERE), place(AWS, region)
    return zone.country is not None and zone.country == home.country

