"""The standard forms the service publishes, generated as DOCX from the templates below.

The contents follow the Rules of technological connection (Decree of the Government of
the Russian Federation of 27.12.2004 No. 861): what an application states (п. 9, for
small applicants п. 14), the documents attached to it (п. 10), the essential terms of the
contract (п. 16) and the closing documents (акт об осуществлении ТП, акт о выполнении
ТУ, акт допуска прибора учёта). Amounts and terms that are set per region or per case
are left as blanks, never printed as constants.

Fields that the cabinet can fill for the applicant are empty table cells wrapped in a
bookmark ``lk_<field>``; :func:`fill_docx` writes the values there. Bookmarks are
invisible in Word and survive editing, so a new version that staff publish from an
edited copy stays fillable.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from shared.format import today as local_today

BOOKMARK = "lk_"
RULES = (
    "Правила технологического присоединения энергопринимающих устройств потребителей электрической "
    "энергии (утв. постановлением Правительства РФ от 27.12.2004 № 861)"
)
FILLABLE = (
    "full_name",
    "passport",
    "ogrn",
    "address",
    "phone",
    "email",
    "object_name",
    "object_address",
    "max_power_kw",
    "voltage_kv",
    "reliability_category",
    "date",
)

# Blocks of a template -------------------------------------------------------------------------
Row = tuple[str, str | None]  # (label, fillable field or None)


@dataclass(frozen=True)
class Fields:
    title: str
    rows: Sequence[Row]


@dataclass(frozen=True)
class Para:
    text: str
    bold: bool = False
    align: str = "justify"


@dataclass(frozen=True)
class Checklist:
    title: str
    items: Sequence[str]


@dataclass(frozen=True)
class Grid:
    title: str
    headers: Sequence[str]
    rows: int = 3


@dataclass(frozen=True)
class Signatures:
    parties: Sequence[str]


Block = Fields | Para | Checklist | Grid | Signatures


@dataclass(frozen=True)
class FormSpec:
    code: str
    kind: str  # application | act | contract
    title: str
    heading: str
    subheading: str
    application_type_code: str | None
    blocks: Sequence[Block]
    basis: str
    # Application forms: the power range (exclusive low, inclusive high) and which
    # identity document the applicant states.
    power_range: tuple[float, float | None] = (0.0, None)
    id_fields: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fillable(self) -> bool:
        return self.kind == "application"


# Shared parts of the application forms ---------------------------------------------------------------
def _applicant(individual: bool, sole_trader: bool = True) -> Fields:
    rows: list[Row] = []
    if individual:
        rows += [
            ("Фамилия, имя, отчество заявителя", "full_name"),
            ("Паспорт: серия, номер, кем и когда выдан", "passport"),
        ]
    else:
        rows += [
            ("Полное наименование заявителя (для ИП — фамилия, имя, отчество)", "full_name"),
            ("ОГРН (для ИП — ОГРНИП), дата внесения записи в реестр", "ogrn"),
        ]
        if sole_trader:
            rows.append(("Для ИП: паспорт — серия, номер, кем и когда выдан", "passport"))
    rows += [
        ("Место жительства (для юридического лица — место нахождения) заявителя, почтовый индекс", "address"),
        ("Контактный телефон", "phone"),
        ("Адрес электронной почты", "email"),
    ]
    return Fields("1. Сведения о заявителе (п. 9 «а», «в» Правил)", rows)


def _object(extra: Sequence[Row] = ()) -> Fields:
    rows: list[Row] = [
        ("Наименование энергопринимающих устройств (объекта)", "object_name"),
        ("Место нахождения энергопринимающих устройств (адрес, кадастровый номер участка)", "object_address"),
        (
            "Вид присоединения: новое / увеличение мощности / изменение категории надёжности, точек, вида",
            None,
        ),
        ("Максимальная мощность энергопринимающих устройств (всего), кВт", "max_power_kw"),
        ("в том числе: присоединяемая вновь, кВт / ранее присоединённая, кВт", None),
        ("Уровень напряжения в точке присоединения, кВ", "voltage_kv"),
        ("Категория надёжности электроснабжения", "reliability_category"),
        *extra,
    ]
    return Fields("2. Сведения об энергопринимающих устройствах (п. 9 «б», «г», «е» Правил)", rows)


SCHEDULE = Grid(
    "3. Сроки проектирования и поэтапного введения в эксплуатацию (п. 9 «к», «л» Правил)",
    (
        "Этап (очередь)",
        "Планируемый срок проектирования",
        "Планируемый срок ввода",
        "Максимальная мощность, кВт",
    ),
    rows=3,
)
SUPPLIER = Fields(
    "4. Договор энергоснабжения (п. 9 «м» Правил)",
    [("Гарантирующий поставщик (энергосбытовая организация), с которым планируется договор", None)],
)


def _documents(*items: str) -> Checklist:
    return Checklist(
        "5. Приложения (п. 10 Правил; иных документов сетевая организация требовать не вправе)", items
    )


PLAN = "План расположения энергопринимающих устройств, присоединяемых к сетям сетевой организации"
TITLE = (
    "Копия документа, подтверждающего право собственности или иное законное основание на объект "
    "капитального строительства, земельный участок или энергопринимающие устройства"
)
PROXY = "Доверенность или иной документ, подтверждающий полномочия представителя заявителя (если заявку подаёт представитель)"
ID_COPY = "Копия паспорта гражданина Российской Федерации или иного документа, удостоверяющего личность"
REGISTER = "Выписка из ЕГРЮЛ (для индивидуального предпринимателя — из ЕГРИП)"
LINE = "Однолинейная схема электрических сетей заявителя, присоединяемых к сетям сетевой организации (35 кВ и выше)"
AUTOMATICS = (
    "Перечень и мощность энергопринимающих устройств, которые могут быть присоединены к устройствам "
    "противоаварийной автоматики"
)


def _application(
    code: str,
    type_code: str,
    title: str,
    subheading: str,
    *,
    individual: bool,
    power_range: tuple[float, float | None],
    object_extra: Sequence[Row] = (),
    documents: Sequence[str],
    extra_blocks: Sequence[Block] = (),
    basis: str = "пп. 9, 10",
    id_fields: tuple[str, ...] = ("passport", "ogrn"),
) -> FormSpec:
    blocks: list[Block] = [
        Para(
            "В ____________________________________________ (наименование сетевой организации)",
            align="right",
        ),
        _applicant(individual),
        Para(
            "Прошу осуществить технологическое присоединение энергопринимающих устройств, указанных ниже, "
            "к электрическим сетям сетевой организации."
        ),
        _object(object_extra),
        *extra_blocks,
        SCHEDULE,
        SUPPLIER,
        _documents(*documents),
        Para(
            "Заявитель подтверждает достоверность сведений, указанных в заявке, и согласен на обработку "
            "персональных данных в целях технологического присоединения."
        ),
        Signatures(("Заявитель",)),
    ]
    return FormSpec(
        code=code,
        kind="application",
        title=title,
        heading="ЗАЯВКА",
        subheading=subheading,
        application_type_code=type_code,
        blocks=blocks,
        basis=basis,
        power_range=power_range,
        id_fields=id_fields,
    )


SPECS: tuple[FormSpec, ...] = (
    _application(
        "application_individual_15kw",
        "individual_15kw",
        "Заявка физического лица на присоединение энергопринимающих устройств до 15 кВт включительно",
        "физического лица на присоединение по одному источнику электроснабжения энергопринимающих устройств "
        "с максимальной мощностью до 15 кВт включительно (используемых для бытовых и иных нужд, "
        "не связанных с осуществлением предпринимательской деятельности)",
        individual=True,
        power_range=(0.0, 15.0),
        documents=(PLAN, TITLE, ID_COPY, PROXY),
        basis="пп. 9, 10, 14",
        id_fields=("passport",),
    ),
    _application(
        "application_legal_150kw",
        "legal_150kw",
        "Заявка юридического лица (индивидуального предпринимателя) на присоединение до 150 кВт включительно",
        "юридического лица (индивидуального предпринимателя) на присоединение по одному источнику "
        "электроснабжения энергопринимающих устройств с максимальной мощностью до 150 кВт включительно",
        individual=False,
        power_range=(0.0, 150.0),
        object_extra=(("Заявляемый характер нагрузки (вид производственной деятельности)", None),),
        documents=(PLAN, TITLE, REGISTER, PROXY),
        basis="пп. 9, 10, 12(1)",
        id_fields=("ogrn",),
    ),
    _application(
        "application_legal_150_670kw",
        "legal_150_670kw",
        "Заявка юридического лица (индивидуального предпринимателя) на присоединение от 150 до 670 кВт",
        "юридического лица (индивидуального предпринимателя) на присоединение энергопринимающих устройств "
        "с максимальной мощностью свыше 150 кВт и менее 670 кВт",
        individual=False,
        power_range=(150.0, 670.0),
        object_extra=(
            ("Количество точек присоединения и их технические параметры", None),
            ("Заявляемый характер нагрузки, наличие нагрузок, искажающих форму кривой тока", None),
        ),
        documents=(PLAN, AUTOMATICS, TITLE, REGISTER, PROXY),
        id_fields=("ogrn",),
    ),
    _application(
        "application_over_670kw",
        "over_670kw",
        "Заявка на присоединение энергопринимающих устройств свыше 670 кВт",
        "юридического лица (индивидуального предпринимателя) на присоединение энергопринимающих устройств "
        "с максимальной мощностью 670 кВт и более",
        individual=False,
        power_range=(670.0, None),
        object_extra=(
            ("Количество и мощность присоединяемых к сети трансформаторов, генераторов", None),
            ("Количество точек присоединения и их технические параметры", None),
            ("Заявляемый характер нагрузки, наличие нагрузок, искажающих форму кривой тока", None),
            ("Величина и обоснование технологической и аварийной брони", None),
        ),
        documents=(PLAN, LINE, AUTOMATICS, TITLE, REGISTER, PROXY),
        id_fields=("ogrn",),
    ),
    _application(
        "application_temporary",
        "temporary",
        "Заявка на временное технологическое присоединение",
        "на временное технологическое присоединение энергопринимающих устройств (в том числе передвижных "
        "объектов и объектов, строительство которых не завершено) на срок до ввода постоянной схемы",
        individual=False,
        power_range=(0.0, None),
        object_extra=(
            ("Срок временного присоединения (дата начала и окончания)", None),
            ("Реквизиты договора (заявки) на постоянное присоединение, если заключён (подана)", None),
        ),
        documents=(PLAN, TITLE, PROXY),
        basis="пп. 9, 10, раздел VII",
    ),
    _application(
        "application_microgeneration_150kw",
        "microgeneration_150kw",
        "Заявка на присоединение до 150 кВт с объектом микрогенерации",
        "на присоединение энергопринимающих устройств с максимальной мощностью до 150 кВт включительно, "
        "в том числе с объектом микрогенерации",
        individual=False,
        power_range=(0.0, 150.0),
        object_extra=(
            ("Объект микрогенерации: вид (солнечная, ветровая и т. п.) и мощность генерации, кВт", None),
            ("Выдача мощности в сеть: да / нет", None),
        ),
        documents=(PLAN, TITLE, ID_COPY, REGISTER, PROXY),
        basis="пп. 9, 10, 14",
    ),
    FormSpec(
        code="act_tp",
        kind="act",
        title="Акт об осуществлении технологического присоединения",
        heading="АКТ № ______",
        subheading="об осуществлении технологического присоединения",
        application_type_code=None,
        basis="пп. 7, 19",
        blocks=(
            Para("г. ____________________                                        «___» ____________ 20__ г."),
            Para(
                "Сетевая организация ______________________________ в лице ______________________________, "
                "действующего на основании ____________________, и заявитель ______________________________ "
                "составили настоящий акт о том, что мероприятия по технологическому присоединению выполнены "
                "в соответствии с договором от «___» ____________ 20__ г. № ______ и техническими условиями."
            ),
            Fields(
                "1. Характеристики присоединения",
                [
                    ("Наименование и место нахождения объекта", None),
                    ("Максимальная мощность (всего), кВт", None),
                    ("Ранее присоединённая максимальная мощность, кВт", None),
                    ("Уровень напряжения, кВ", None),
                    ("Категория надёжности электроснабжения", None),
                ],
            ),
            Grid(
                "2. Точки присоединения",
                (
                    "№",
                    "Источник питания (ПС, ТП, фидер)",
                    "Описание точки присоединения",
                    "Напряжение, кВ",
                    "Максимальная мощность, кВт",
                ),
            ),
            Para(
                "3. Границы балансовой принадлежности объектов электроэнергетики и эксплуатационной "
                "ответственности сторон: ______________________________________________________________"
            ),
            Para(
                "4. Прибор учёта: тип ______________, заводской № ______________, место установки ______________."
            ),
            Para(
                "5. Стороны претензий по выполнению мероприятий по технологическому присоединению не имеют."
            ),
            Signatures(("Сетевая организация", "Заявитель")),
        ),
    ),
    FormSpec(
        code="act_tu",
        kind="act",
        title="Акт о выполнении технических условий",
        heading="АКТ № ______",
        subheading="о выполнении технических условий",
        application_type_code=None,
        basis="пп. 7, 85–90",
        blocks=(
            Para("г. ____________________                                        «___» ____________ 20__ г."),
            Para(
                "Настоящий акт составлен сетевой организацией ______________________________ и заявителем "
                "______________________________ по результатам проверки выполнения технических условий "
                "от «___» ____________ 20__ г. № ______ к договору от «___» ____________ 20__ г. № ______."
            ),
            Fields(
                "1. Объект",
                [
                    ("Наименование и место нахождения объекта", None),
                    ("Максимальная мощность, кВт", None),
                    ("Уровень напряжения, кВ; категория надёжности", None),
                ],
            ),
            Grid(
                "2. Мероприятия, выполненные заявителем",
                ("№", "Мероприятие по техническим условиям", "Выполнено (документ)", "Замечания"),
                rows=4,
            ),
            Grid(
                "3. Мероприятия, выполненные сетевой организацией",
                ("№", "Мероприятие по техническим условиям", "Выполнено (документ)", "Замечания"),
                rows=4,
            ),
            Para("4. Результаты осмотра электроустановок: ____________________________________________."),
            Para(
                "5. Технические условия выполнены в полном объёме / выполнены с замечаниями (нужное подчеркнуть)."
            ),
            Signatures(("Сетевая организация", "Заявитель")),
        ),
    ),
    FormSpec(
        code="act_meter",
        kind="act",
        title="Акт допуска прибора учёта электрической энергии в эксплуатацию",
        heading="АКТ № ______",
        subheading="допуска прибора учёта электрической энергии в эксплуатацию",
        application_type_code=None,
        basis="п. 7; Основные положения функционирования розничных рынков электрической энергии "
        "(утв. постановлением Правительства РФ от 04.05.2012 № 442), пп. 152–154",
        blocks=(
            Para("г. ____________________                                        «___» ____________ 20__ г."),
            Fields(
                "1. Место установки",
                [
                    ("Объект и его адрес", None),
                    ("Владелец прибора учёта", None),
                    ("Место установки прибора учёта (ТП, ВРУ, опора, щит)", None),
                ],
            ),
            Fields(
                "2. Прибор учёта",
                [
                    ("Тип, заводской номер", None),
                    ("Год выпуска, дата последней поверки, межповерочный интервал", None),
                    ("Класс точности; номинальные ток и напряжение", None),
                    ("Показания на момент допуска (по тарифным зонам)", None),
                ],
            ),
            Grid(
                "3. Измерительные трансформаторы", ("Тип", "Заводской номер", "Коэффициент", "Класс точности")
            ),
            Grid("4. Установленные пломбы и знаки визуального контроля", ("Место установки", "Номер пломбы")),
            Para(
                "5. Прибор учёта допущен в эксплуатацию в качестве расчётного / не допущен (причина): __________."
            ),
            Signatures(("Сетевая организация", "Заявитель (потребитель)", "Гарантирующий поставщик")),
        ),
    ),
    FormSpec(
        code="contract_tp",
        kind="contract",
        title="Договор об осуществлении технологического присоединения к электрическим сетям",
        heading="ДОГОВОР № ______",
        subheading="об осуществлении технологического присоединения к электрическим сетям",
        application_type_code=None,
        basis="пп. 15, 16, 16(1)–16(6)",
        blocks=(
            Para("г. ____________________                                        «___» ____________ 20__ г."),
            Para(
                "______________________________ (сетевая организация) в лице ______________________________, "
                "действующего на основании ______________, с одной стороны, и ______________________________ "
                "(заявитель), с другой стороны, заключили настоящий договор о нижеследующем."
            ),
            Para("1. Предмет договора", bold=True),
            Para(
                "1.1. Сетевая организация принимает на себя обязательства по осуществлению технологического "
                "присоединения энергопринимающих устройств заявителя ______________________________ "
                "(наименование), в том числе по обеспечению готовности объектов электросетевого хозяйства, "
                "с учётом следующих характеристик: максимальная мощность ______ кВт; категория надёжности ____; "
                "класс напряжения ______ кВ; ранее присоединённая мощность ______ кВт."
            ),
            Para("1.2. Энергопринимающие устройства расположены: ______________________________ (адрес)."),
            Para(
                "1.3. Технические условия являются неотъемлемой частью договора и приведены в приложении. "
                "Срок действия технических условий — ______ лет."
            ),
            Para(
                "1.4. Срок выполнения мероприятий по технологическому присоединению — ______ "
                "со дня заключения договора (в пределах сроков, установленных п. 16 Правил)."
            ),
            Para("2. Обязанности сторон", bold=True),
            Para(
                "2.1. Сетевая организация обязуется: выполнить мероприятия по технологическому присоединению "
                "до границ участка заявителя, включая урегулирование отношений с иными лицами; в течение ______ "
                "рабочих дней со дня уведомления заявителя о выполнении им технических условий проверить их "
                "выполнение, осуществить допуск прибора учёта и составить акт об осуществлении "
                "технологического присоединения."
            ),
            Para(
                "2.2. Заявитель обязуется: выполнить технические условия в пределах границ своего участка; "
                "уведомить сетевую организацию об их выполнении; внести плату за технологическое присоединение "
                "в размере и в сроки, установленные договором."
            ),
            Para("3. Плата за технологическое присоединение и порядок расчётов", bold=True),
            Para(
                "3.1. Размер платы определяется решением органа исполнительной власти в области регулирования "
                "тарифов ______________________ от «___» ____________ 20__ г. № ______ и составляет "
                "______________ руб., в том числе НДС ______________ руб."
            ),
            Para("3.2. Порядок и сроки внесения платы: ______________________________________________."),
            Para("4. Разграничение балансовой принадлежности", bold=True),
            Para(
                "4.1. Граница балансовой принадлежности объектов электроэнергетики и эксплуатационной "
                "ответственности сторон определяется в акте об осуществлении технологического присоединения."
            ),
            Para("5. Ответственность сторон", bold=True),
            Para(
                "5.1. За нарушение сроков выполнения мероприятий сторона, нарушившая срок, уплачивает неустойку "
                "в размере, установленном п. 16 Правил, за каждый день просрочки."
            ),
            Para("6. Порядок разрешения споров и заключительные положения", bold=True),
            Para(
                "6.1. Споры разрешаются в порядке, установленном законодательством Российской Федерации. "
                "6.2. Договор считается заключённым со дня оплаты заявителем счёта (п. 103 Правил) либо "
                "со дня подписания сторонами."
            ),
            Fields(
                "7. Реквизиты сторон",
                [
                    ("Сетевая организация: наименование, ИНН/КПП, адрес, банковские реквизиты", None),
                    ("Заявитель: ФИО (наименование), паспорт (ОГРН), адрес, телефон", None),
                ],
            ),
            Signatures(("Сетевая организация", "Заявитель")),
        ),
    ),
)

SPECS_BY_CODE = {spec.code: spec for spec in SPECS}


# DOCX generation ------------------------------------------------------------------------------------
class _Bookmarks:
    def __init__(self) -> None:
        self.next_id = 1

    def wrap(self, paragraph: Any, name: str, blank: str = "") -> None:
        """A bookmark ``lk_<name>`` at the end of ``paragraph`` around ``blank`` (a line to
        write on by hand): a filled-in copy gets the value there instead."""
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), str(self.next_id))
        start.set(qn("w:name"), BOOKMARK + name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), str(self.next_id))
        paragraph._p.append(start)
        if blank:
            run = paragraph.add_run(blank)  # appended after the start mark
            run._r.addnext(end)
        else:
            paragraph._p.append(end)
        self.next_id += 1


def _font(document: Any) -> None:
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(12)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "Times New Roman")
    style.paragraph_format.space_after = Pt(4)
    for section in document.sections:
        section.left_margin = Cm(2.5)
        section.right_margin = Cm(1.5)
        section.top_margin = Cm(2)
        section.bottom_margin = Cm(2)


def _para(document: Any, text: str, *, bold: bool = False, align: str = "justify", size: int = 0) -> Any:
    paragraph = document.add_paragraph()
    paragraph.alignment = {
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
        "left": WD_ALIGN_PARAGRAPH.LEFT,
    }[align]
    run = paragraph.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    return paragraph


# Where a form names the grid company, a blank that ``company`` (``LK_COMPANY_NAME``) fills.
COMPANY_BLANKS = (
    ("____________________________________________ (наименование сетевой организации)", "{}"),
    ("сетевой организацией ______________________________", "сетевой организацией {}"),
    ("______________________________ (сетевая организация)", "{} (сетевая организация)"),
)


def _with_company(text: str, company: str) -> str:
    for blank, named in COMPANY_BLANKS:
        text = text.replace(blank, named.format(company))
    return text


def build_docx(spec: FormSpec, version: int = 1, company: str = "") -> bytes:
    """The form as a DOCX document; ``company`` names the grid company where the form does."""
    document = Document()
    _font(document)
    marks = _Bookmarks()
    _para(
        document,
        f"Типовая форма. Составлена в соответствии с: {RULES}, {spec.basis}.",
        align="right",
        size=9,
    )
    _para(document, spec.heading, bold=True, align="center", size=14)
    _para(document, spec.subheading, bold=True, align="center")
    for block in spec.blocks:
        if isinstance(block, Para):
            text = _with_company(block.text, company) if company else block.text
            _para(document, text, bold=block.bold, align=block.align)
        elif isinstance(block, Fields):
            _para(document, block.title, bold=True, align="left")
            table = document.add_table(rows=0, cols=2)
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for label, key in block.rows:
                cells = table.add_row().cells
                cells[0].width = Cm(8)
                cells[1].width = Cm(9)
                cells[0].paragraphs[0].add_run(label)
                if key:
                    marks.wrap(cells[1].paragraphs[0], key)
        elif isinstance(block, Checklist):
            _para(document, block.title, bold=True, align="left")
            for number, item in enumerate(block.items, 1):
                _para(document, f"☐ {number}. {item}.", align="left")
        elif isinstance(block, Grid):
            _para(document, block.title, bold=True, align="left")
            table = document.add_table(rows=1 + block.rows, cols=len(block.headers))
            table.style = "Table Grid"
            for cell, header in zip(table.rows[0].cells, block.headers, strict=True):
                cell.paragraphs[0].add_run(header).bold = True
        elif isinstance(block, Signatures):
            document.add_paragraph()
            for party in block.parties:
                _para(document, f"{party}: ____________________ / ______________________ /", align="left")
                _para(document, "(подпись)                    (фамилия, инициалы)", align="left", size=9)
            marks.wrap(_para(document, "Дата: ", align="left"), "date", "«___» ____________ 20__ г.")
            _para(document, "М. П. (при наличии)", align="left", size=9)
    props = document.core_properties
    props.title = spec.title
    props.subject = spec.subheading
    props.author = "Личный кабинет ТП"
    props.keywords = f"{spec.code}; версия {version}"
    props.comments = f"Форма {spec.code}, версия {version}. {RULES}."
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# filling ----------------------------------------------------------------------------------------------
def bookmarks_in(data: bytes) -> set[str]:
    """The fillable fields (``lk_*`` bookmarks) of a DOCX document."""
    document = Document(io.BytesIO(data))
    return {
        name[len(BOOKMARK) :]
        for start in document.element.body.iter(qn("w:bookmarkStart"))
        if (name := start.get(qn("w:name")) or "").startswith(BOOKMARK)
    }


def fill_docx(data: bytes, values: dict[str, str]) -> tuple[bytes, int]:
    """Write ``values`` into the ``lk_<field>`` bookmarks; returns (document, fields filled).

    Whatever a bookmark held (a blank line) is replaced; the first run's formatting stays."""
    document = Document(io.BytesIO(data))
    filled = 0
    for start in list(document.element.body.iter(qn("w:bookmarkStart"))):
        name = start.get(qn("w:name")) or ""
        key = name[len(BOOKMARK) :]
        if not name.startswith(BOOKMARK) or key not in values:
            continue
        mark_id = start.get(qn("w:id"))
        style = None
        sibling = start.getnext()
        while sibling is not None and not (
            sibling.tag == qn("w:bookmarkEnd") and sibling.get(qn("w:id")) == mark_id
        ):
            following = sibling.getnext()
            if sibling.tag == qn("w:r"):
                if style is None and sibling.find(qn("w:rPr")) is not None:
                    style = copy.deepcopy(sibling.find(qn("w:rPr")))
                sibling.getparent().remove(sibling)
            sibling = following
        run = OxmlElement("w:r")
        if style is not None:
            run.append(style)
        text = OxmlElement("w:t")
        text.set(qn("xml:space"), "preserve")
        text.text = values[key]
        run.append(text)
        start.addnext(run)
        filled += 1
    document.core_properties.last_modified_by = "Личный кабинет ТП (заполнено)"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), filled


def today_ru(today: date | None = None) -> str:
    months = [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ]
    day = today or local_today()
    return f"«{day.day:02d}» {months[day.month - 1]} {day.year} г."
