"""The demo knowledge base's content: sections and articles (ru/en) about the demo online-shop platform.

The section slugs are the support wizard's too (its questions and category mappings name them): keep them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSection:
    path: str  # slugs from the top: "payments/card-payments"
    title_ru: str
    title_en: str
    description_ru: str
    description_en: str
    staff_only: bool = False


@dataclass(frozen=True)
class DemoArticle:
    section: str  # the section's path
    slug: str
    title_ru: str
    title_en: str
    body_ru: str
    body_en: str
    staff_only: bool = False


SECTIONS: tuple[DemoSection, ...] = (
    DemoSection(
        "payments",
        "Оплата",
        "Payments",
        "Как покупатели платят в вашем магазине: способы оплаты, платёжные шлюзы, статусы оплаты заказов, "
        "возвраты и оплата лицензии по счёту.",
        "How customers pay in your shop: payment methods, payment gateways, order payment statuses, refunds, "
        "and paying for your licence by invoice.",
    ),
    DemoSection(
        "payments/card-payments",
        "Оплата картой",
        "Card payments",
        "Оплата банковской картой через подключённый шлюз. Чаще всего платёж не проходит из-за 3-D Secure, "
        "лимитов банка покупателя или устаревшего ключа шлюза — проверьте статьи ниже, прежде чем писать нам.",
        "Paying by bank card through the connected gateway. Most failed payments come from 3-D Secure, the "
        "customer's bank limits or an outdated gateway key: check the articles below before writing to us.",
    ),
    DemoSection(
        "payments/card-payments/refunds",
        "Возвраты",
        "Refunds",
        "Полный и частичный возврат денег покупателю, сроки зачисления на карту. Возврат оформляется из "
        "карточки заказа: Заказы → заказ → Оплата → Вернуть.",
        "Full and partial refunds to a customer, and when the money reaches the card. A refund is made from "
        "the order: Orders → the order → Payment → Refund.",
    ),
    DemoSection(
        "payments/invoices",
        "Счета и безналичная оплата",
        "Invoices and bank transfer",
        "Счета на оплату лицензии и продления для юридических лиц, закрывающие документы, зачисление платежей.",
        "Invoices for licences and renewals for companies, closing documents, and when a bank transfer is "
        "credited.",
    ),
    DemoSection(
        "delivery",
        "Доставка",
        "Delivery",
        "Подключение служб доставки, расчёт стоимости, отслеживание посылок и что делать, если с доставкой "
        "что-то пошло не так.",
        "Connecting delivery services, calculating the cost, tracking parcels, and what to do when a delivery "
        "goes wrong.",
    ),
    DemoSection(
        "delivery/tracking",
        "Отслеживание",
        "Tracking",
        "Трек-номер появляется в заказе, когда служба доставки приняла посылку. Статусы обновляются раз в "
        "час; задержка до суток бывает у всех перевозчиков.",
        "The tracking number appears in the order once the carrier has accepted the parcel. Statuses update "
        "hourly; a delay of up to a day happens with every carrier.",
    ),
    DemoSection(
        "delivery/delivery-problems",
        "Проблемы с доставкой",
        "Delivery problems",
        "Задержка, повреждение, неверный адрес. Претензии к перевозчику подаёт отправитель (магазин); мы "
        "поможем с данными из заказа.",
        "Late, damaged or misaddressed parcels. Claims against the carrier are filed by the sender (the "
        "shop); we help with the order's data.",
    ),
    DemoSection(
        "account",
        "Вход и учётная запись",
        "Login and account",
        "Вход в личный кабинет, пароль, двухфакторная аутентификация и доступ сотрудников магазина.",
        "Logging in to your account, passwords, two-factor authentication and access for your shop's staff.",
    ),
    DemoSection(
        "account/login-problems",
        "Не удаётся войти",
        "Cannot log in",
        "Если вход не удаётся: проверьте раскладку и Caps Lock, воспользуйтесь «Забыли пароль?», а после "
        "пяти неудачных попыток подождите 15 минут — вход временно блокируется.",
        'If you cannot log in: check the keyboard layout and Caps Lock, use "Forgot your password?", and '
        "after five failed attempts wait 15 minutes: logging in is blocked for a while.",
    ),
    DemoSection(
        "errors",
        "Ошибки",
        "Errors",
        "Ошибки на сайте магазина и в панели управления: как их диагностировать и как сообщить о них так, "
        "чтобы мы исправили их быстро.",
        "Errors on the shop's site and in the control panel: how to diagnose them and how to report them so "
        "that we can fix them fast.",
    ),
    DemoSection(
        "errors/error-codes",
        "Коды ошибок",
        "Error codes",
        "Что означают коды HTTP и коды ошибок платформы и что с ними делать.",
        "What the HTTP status codes and the platform's error codes mean, and what to do about them.",
    ),
    DemoSection(
        "internal",
        "Для сотрудников поддержки",
        "Support staff only",
        "Внутренние инструкции первой линии: эскалация, журналы, согласования. Клиенты этот раздел не видят.",
        "The first line's internal instructions: escalation, logs, approvals. Clients do not see this section.",
        staff_only=True,
    ),
)


ARTICLES: tuple[DemoArticle, ...] = (
    # -- payments ----------------------------------------------------------------------------------
    DemoArticle(
        "payments",
        "payment-methods",
        "Какие способы оплаты можно подключить",
        "Which payment methods you can connect",
        "Магазин принимает оплату:\n\n- **банковской картой** (Visa, Mastercard, «Мир») через платёжный шлюз;\n"
        "- **СБП** — по QR-коду, без ввода данных карты;\n- **наличными или картой курьеру** при получении;\n"
        "- **по счёту** для юридических лиц.\n\nСпособы включаются в разделе *Настройки → Оплата*. Для карт и СБП "
        "нужен договор с банком-эквайером или платёжным агрегатором.",
        "Your shop can accept:\n\n- **bank cards** (Visa, Mastercard, Mir) through a payment gateway;\n"
        "- **Faster Payments (SBP)** by QR code, with no card details typed;\n- **cash or card to the courier** "
        "on delivery;\n- **invoices** for companies.\n\nMethods are switched on in *Settings → Payment*. Cards "
        "and SBP need a contract with an acquiring bank or a payment aggregator.",
    ),
    DemoArticle(
        "payments",
        "payment-gateway-setup",
        "Подключение платёжного шлюза",
        "Connecting a payment gateway",
        "1. Заключите договор с платёжной системой и получите **идентификатор магазина** и **секретный ключ**.\n"
        "2. Откройте *Настройки → Оплата → Платёжные шлюзы → Добавить*.\n3. Вставьте идентификатор и ключ, "
        "включите тестовый режим.\n4. Оформите тестовый заказ тестовой картой из документации шлюза.\n"
        "5. Выключите тестовый режим.\n\nАдрес для уведомлений об оплате (callback) указан на странице шлюза — "
        "скопируйте его в кабинет платёжной системы, иначе заказы не будут отмечаться оплаченными.",
        "1. Sign a contract with the payment provider and get the **shop id** and the **secret key**.\n"
        "2. Open *Settings → Payment → Payment gateways → Add*.\n3. Paste the id and the key and switch the "
        "test mode on.\n4. Place a test order with a test card from the gateway's documentation.\n5. Switch "
        "the test mode off.\n\nThe payment notification (callback) address is shown on the gateway's page: "
        "copy it into the provider's dashboard, or orders will never be marked as paid.",
    ),
    DemoArticle(
        "payments",
        "payment-status-pending",
        "Заказ оплачен, но статус остаётся «Не оплачен»",
        'The order is paid but still shows "Not paid"',
        "Статус меняется, когда платёжная система присылает уведомление на адрес callback магазина. "
        "Если деньги списаны, а статус не изменился:\n\n- проверьте, что адрес уведомлений в кабинете платёжной "
        "системы совпадает с адресом на странице шлюза;\n- проверьте, что сайт открывается по HTTPS с "
        "действующим сертификатом;\n- в *Журнал событий → Оплата* найдите запрос от шлюза и его ответ.\n\n"
        "Если запроса от шлюза нет — напишите в поддержку платёжной системы; если он есть с ошибкой — нам.",
        "The status changes when the payment provider sends a notification to the shop's callback address. "
        "If the money was taken but the status did not change:\n\n- check that the notification address in the "
        "provider's dashboard matches the one on the gateway page;\n- check that the site opens over HTTPS "
        "with a valid certificate;\n- find the gateway's request and its answer in *Event log → Payment*.\n\n"
        "No request from the gateway: contact the provider's support. A request with an error: contact us.",
    ),
    # -- card payments -----------------------------------------------------------------------------
    DemoArticle(
        "payments/card-payments",
        "card-declined",
        "Оплата картой не проходит",
        "A card payment is declined",
        "Причину отказа показывает платёжная система в деталях операции. Частые причины:\n\n"
        "| Код | Что значит | Что делать |\n|---|---|---|\n| 05 | Банк отказал без объяснения | Покупателю — "
        "позвонить в банк |\n| 51 | Недостаточно средств | Другая карта |\n| 54 | Истёк срок карты | Другая "
        "карта |\n| 65 | Превышен лимит операций | Покупателю — поднять лимит |\n\nЕсли отказывают **все** "
        "карты — проверьте, не истёк ли договор с эквайером и не включён ли тестовый режим.",
        "The provider shows the reason in the transaction's details. Frequent reasons:\n\n"
        "| Code | Meaning | What to do |\n|---|---|---|\n| 05 | Declined by the bank, no reason | The customer "
        "calls the bank |\n| 51 | Insufficient funds | Another card |\n| 54 | Expired card | Another card |\n| 65 "
        "| Transaction limit exceeded | The customer raises the limit |\n\nIf **every** card is declined, check "
        "that the acquiring contract is still valid and the test mode is off.",
    ),
    DemoArticle(
        "payments/card-payments",
        "3ds-code-missing",
        "3-D Secure: не приходит код подтверждения",
        "3-D Secure: the confirmation code does not arrive",
        "Код 3-D Secure присылает **банк покупателя**, а не магазин и не платформа. Посоветуйте покупателю:\n\n"
        "- проверить, что номер телефона в банке актуален;\n- подождать 2–3 минуты и запросить код повторно;\n"
        "- подтвердить оплату в приложении банка, если банк это поддерживает;\n- попробовать другую карту.\n\n"
        "Если жалобы массовые и у разных банков — напишите нам с номерами заказов.",
        "The 3-D Secure code is sent by the **customer's bank**, not by the shop or the platform. Advise the "
        "customer to:\n\n- check that the bank has their current phone number;\n- wait 2–3 minutes and request "
        "the code again;\n- confirm the payment in the bank's app if the bank supports it;\n- try another card.\n\n"
        "If many customers of different banks complain, write to us with the order numbers.",
    ),
    DemoArticle(
        "payments/card-payments",
        "gateway-401",
        "Шлюз отвечает 401 после смены пароля",
        "The gateway answers 401 after a password change",
        "Ответ **401 Unauthorized** значит, что шлюз не принял секретный ключ магазина. Обычно это случается "
        "после смены пароля или перевыпуска ключа в кабинете платёжной системы.\n\nСкопируйте новый ключ в "
        "*Настройки → Оплата → Платёжные шлюзы → ваш шлюз → Секретный ключ*, сохраните и проведите тестовый "
        "платёж. Заказы, не оплаченные за это время, покупатели могут оплатить повторно из письма о заказе.",
        "A **401 Unauthorized** answer means the gateway did not accept the shop's secret key. It usually "
        "happens after the password was changed or the key reissued in the provider's dashboard.\n\nCopy the "
        "new key into *Settings → Payment → Payment gateways → your gateway → Secret key*, save, and make a "
        "test payment. Customers can pay the orders left unpaid meanwhile from their order e-mail.",
    ),
    DemoArticle(
        "payments/card-payments",
        "double-charge",
        "Деньги списались дважды",
        "The customer was charged twice",
        "Чаще всего второе списание — это **блокировка (холд)**, а не оплата: банк снимет её сам за 3–30 дней. "
        "Проверьте в кабинете платёжной системы, сколько операций в статусе «Оплачено» по заказу.\n\n"
        "Если оплачены две операции — верните лишнюю (см. «Как вернуть деньги покупателю»). Если операция "
        "одна — сообщите покупателю, что вторая сумма — холд, и назовите срок его снятия.",
        "Most often the second charge is a **hold**, not a payment: the bank releases it itself within 3–30 "
        'days. Check in the provider\'s dashboard how many transactions of the order are "Paid".\n\nTwo paid '
        'transactions: refund the extra one (see "How to refund a customer"). One: tell the customer the '
        "second amount is a hold and when it will be released.",
    ),
    DemoArticle(
        "payments/card-payments",
        "chargeback-procedure",
        "Чарджбэк: порядок действий",
        "Chargebacks: what to do",
        "**Только для сотрудников.** Клиент получил уведомление о чарджбэке от эквайера.\n\n1. Попросите у "
        "клиента номер заказа и письмо эквайера.\n2. Выгрузите из журнала заказа подтверждение доставки и "
        "переписку с покупателем.\n3. Срок ответа эквайеру — 10 календарных дней: поставьте обращению "
        "критичность «высокая».\n4. Если магазин не может доказать доставку, рекомендуйте принять чарджбэк.",
        "**Staff only.** A client received a chargeback notice from the acquirer.\n\n1. Ask the client for the "
        "order number and the acquirer's letter.\n2. Export the delivery confirmation and the correspondence "
        "with the buyer from the order's log.\n3. The acquirer expects an answer within 10 calendar days: give "
        "the ticket high criticality.\n4. If the shop cannot prove delivery, advise accepting the chargeback.",
        staff_only=True,
    ),
    # -- refunds ------------------------------------------------------------------------------------
    DemoArticle(
        "payments/card-payments/refunds",
        "refund-how",
        "Как вернуть деньги покупателю",
        "How to refund a customer",
        "1. Откройте *Заказы* и найдите заказ.\n2. На вкладке **Оплата** нажмите **Вернуть**.\n3. Укажите "
        "сумму (по умолчанию — вся оплата) и причину.\n4. Подтвердите.\n\nВозврат уходит в платёжную систему "
        "сразу; статус заказа станет «Возврат оформлен». Оплату наличными курьеру возвращают вне платформы.",
        "1. Open *Orders* and find the order.\n2. On the **Payment** tab press **Refund**.\n3. Enter the amount "
        "(the whole payment by default) and the reason.\n4. Confirm.\n\nThe refund goes to the payment provider "
        'at once; the order\'s status becomes "Refunded". Cash paid to a courier is returned outside the '
        "platform.",
    ),
    DemoArticle(
        "payments/card-payments/refunds",
        "refund-timing",
        "Когда возврат придёт на карту",
        "When a refund reaches the card",
        "Платформа передаёт возврат платёжной системе в течение минуты. Дальше срок зависит от банка "
        "покупателя: обычно **от 3 до 7 рабочих дней**, иногда до 30 дней.\n\nЕсли срок прошёл, дайте "
        "покупателю **RRN** или **ARN** операции возврата (они есть в кабинете платёжной системы) — по ним "
        "банк найдёт платёж.",
        "The platform passes the refund to the payment provider within a minute. After that it depends on the "
        "customer's bank: usually **3 to 7 working days**, sometimes up to 30.\n\nWhen that time has passed, "
        "give the customer the refund's **RRN** or **ARN** (shown in the provider's dashboard): the bank finds "
        "the payment by it.",
    ),
    DemoArticle(
        "payments/card-payments/refunds",
        "partial-refund",
        "Частичный возврат",
        "Partial refunds",
        "Вернуть можно часть суммы — например, за один товар из заказа. В окне возврата отметьте товары или "
        "введите сумму вручную. Частичных возвратов по одной оплате может быть несколько, пока их сумма не "
        "превысит оплату.\n\nСБП и некоторые агрегаторы частичный возврат не поддерживают — тогда кнопка "
        "неактивна.",
        "You can refund part of the amount, for example one item of the order. In the refund window tick the "
        "items or type the amount. One payment can have several partial refunds as long as their total does not "
        "exceed it.\n\nSBP and some aggregators do not support partial refunds: the button is then disabled.",
    ),
    # -- invoices -----------------------------------------------------------------------------------
    DemoArticle(
        "payments/invoices",
        "invoice-request",
        "Как получить счёт для юридического лица",
        "Getting an invoice for a company",
        "Счёт выставляется в личном кабинете: *Лицензия → Продлить → Оплата по счёту*. Укажите ИНН — "
        "реквизиты подставятся сами. Счёт действителен 5 банковских дней.\n\nВ назначении платежа обязательно "
        "укажите номер счёта, иначе платёж придётся искать вручную.",
        "Invoices are made in your account: *Licence → Renew → Pay by invoice*. Enter the company's tax number "
        "(INN) and the details fill in themselves. An invoice is valid for 5 banking days.\n\nAlways put the "
        "invoice number into the payment reference, or the payment has to be found by hand.",
    ),
    DemoArticle(
        "payments/invoices",
        "closing-documents",
        "Закрывающие документы (акт, УПД)",
        "",
        "Акт или УПД формируется после зачисления оплаты и доступен в *Лицензия → Документы*. Оригиналы "
        "отправляем через ЭДО (Диадок, СБИС) — укажите идентификатор участника ЭДО в реквизитах. Бумажные "
        "оригиналы высылаем почтой по запросу в течение 10 рабочих дней.",
        "",
    ),
    DemoArticle(
        "payments/invoices",
        "invoice-paid-licence-not-renewed",
        "Оплатили счёт, а лицензия не продлена",
        "The invoice is paid but the licence is not renewed",
        "Банковский перевод идёт **1–3 рабочих дня**. Лицензия продлевается автоматически в день зачисления.\n\n"
        "Если прошло больше трёх рабочих дней, создайте обращение и приложите платёжное поручение с отметкой "
        "банка — мы найдём платёж вручную.",
        "A bank transfer takes **1–3 working days**. The licence is renewed automatically on the day the money "
        "arrives.\n\nIf more than three working days have passed, file a ticket with the payment order stamped "
        "by your bank attached: we will find the payment by hand.",
    ),
    # -- delivery -----------------------------------------------------------------------------------
    DemoArticle(
        "delivery",
        "delivery-services",
        "Подключение служб доставки",
        "Connecting delivery services",
        "В *Настройки → Доставка → Службы* добавьте перевозчика (СДЭК, Boxberry, Почта России, курьер "
        "магазина). Для перевозчиков с API нужен ключ из их кабинета: с ним платформа рассчитывает стоимость, "
        "создаёт отправления и получает трек-номера.\n\nДля самовывоза укажите адреса пунктов и часы работы.",
        "In *Settings → Delivery → Services* add a carrier (CDEK, Boxberry, Russian Post, the shop's own "
        "courier). Carriers with an API need a key from their dashboard: with it the platform calculates the "
        "cost, creates shipments and gets the tracking numbers.\n\nFor pick-up, enter the points' addresses "
        "and opening hours.",
    ),
    DemoArticle(
        "delivery",
        "delivery-cost",
        "Расчёт стоимости доставки",
        "How the delivery cost is calculated",
        "Стоимость считает перевозчик по весу и габаритам товаров и адресу. Если в корзине доставка «0 ₽» или "
        "«недоступна»:\n\n- у товаров не заполнены вес и габариты;\n- адрес не распознан перевозчиком;\n"
        "- истёк ключ API перевозчика.\n\nФиксированную стоимость или бесплатную доставку от суммы настройте в "
        "правилах доставки.",
        "The carrier calculates the cost from the items' weight and size and the address. If the cart shows "
        'delivery as "0" or "unavailable":\n\n- the items have no weight or size;\n- the carrier did not '
        "recognise the address;\n- the carrier's API key has expired.\n\nA fixed price or free delivery above "
        "an amount is set in the delivery rules.",
    ),
    # -- tracking -----------------------------------------------------------------------------------
    DemoArticle(
        "delivery/tracking",
        "tracking-number",
        "Где найти трек-номер",
        "Where to find the tracking number",
        "Трек-номер появляется в заказе на вкладке **Доставка**, когда перевозчик принял посылку, и приходит "
        "покупателю в письме «Заказ отправлен». Отследить посылку можно на сайте перевозчика или в личном "
        "кабинете покупателя на сайте магазина.",
        "The tracking number appears on the order's **Delivery** tab once the carrier has accepted the parcel, "
        'and the customer gets it in the "Order shipped" e-mail. The parcel can be tracked on the carrier\'s '
        "site or in the customer's account on the shop's site.",
    ),
    DemoArticle(
        "delivery/tracking",
        "tracking-not-updating",
        "Статус отслеживания не обновляется",
        "The tracking status does not update",
        "Платформа запрашивает статусы у перевозчика раз в час. Если статус не меняется больше суток:\n\n"
        "1. Проверьте трек-номер на сайте перевозчика.\n2. Если там статус новее — проверьте ключ API в "
        "*Настройки → Доставка*.\n3. Если и там не меняется — это вопрос к перевозчику.",
        "The platform asks the carrier for statuses once an hour. If the status has not changed for more than "
        "a day:\n\n1. Check the number on the carrier's site.\n2. If the status there is newer, check the API key "
        "in *Settings → Delivery*.\n3. If it does not change there either, ask the carrier.",
    ),
    # -- delivery problems --------------------------------------------------------------------------
    DemoArticle(
        "delivery/delivery-problems",
        "delivery-late",
        "Посылка задерживается",
        "The parcel is late",
        "Срок доставки, который видит покупатель, — оценка перевозчика. Если он прошёл:\n\n- посмотрите "
        "историю статусов — посылка могла ждать в пункте выдачи;\n- свяжитесь с перевозчиком по номеру "
        "отправления;\n- предложите покупателю компенсацию по правилам магазина.\n\nЗа задержку отвечает "
        "перевозчик; претензию подаёт магазин как отправитель.",
        "The delivery date the customer sees is the carrier's estimate. When it has passed:\n\n- look at the "
        "status history: the parcel may be waiting at a pick-up point;\n- contact the carrier with the shipment "
        "number;\n- offer the customer compensation under the shop's rules.\n\nThe carrier is responsible for "
        "delays; the shop, as the sender, files the claim.",
    ),
    DemoArticle(
        "delivery/delivery-problems",
        "delivery-damaged",
        "Товар пришёл повреждённым",
        "The item arrived damaged",
        "Покупателю нужно **составить акт при получении** в пункте выдачи или с курьером и сфотографировать "
        "упаковку. С актом магазин подаёт претензию перевозчику, а покупателю оформляет возврат или замену.\n\n"
        "Без акта претензию к перевозчику почти всегда отклоняют.",
        "The customer should **have a report drawn up on receipt** at the pick-up point or with the courier "
        "and photograph the packaging. With the report the shop files a claim with the carrier and makes a "
        "refund or a replacement for the customer.\n\nWithout such a report carriers almost always reject claims.",
    ),
    DemoArticle(
        "delivery/delivery-problems",
        "delivery-wrong-address",
        "Неверный адрес доставки",
        "A wrong delivery address",
        "Пока заказ не передан перевозчику, адрес меняется в заказе: *Доставка → Изменить адрес*. После "
        "передачи — только через перевозчика, и не все это позволяют. Если посылка вернулась отправителю, "
        "оформите повторную отправку из заказа.",
        "Until the order is handed to the carrier, change the address in the order: *Delivery → Change "
        "address*. After that only the carrier can change it, and not every carrier allows it. If the parcel "
        "came back to the sender, create a new shipment from the order.",
    ),
    # -- account ------------------------------------------------------------------------------------
    DemoArticle(
        "account",
        "password-change",
        "Как сменить пароль",
        "How to change your password",
        "Откройте *Профиль → Безопасность → Сменить пароль*, введите текущий пароль и новый дважды. Пароль — "
        "не короче 10 символов. После смены все остальные сеансы завершаются.",
        "Open *Profile → Security → Change password*, enter the current password and the new one twice. A "
        "password has at least 10 characters. Changing it ends every other session.",
    ),
    DemoArticle(
        "account",
        "two-factor",
        "Двухфакторная аутентификация",
        "Two-factor authentication",
        "Включите её в *Профиль → Безопасность → Двухфакторная аутентификация*: отсканируйте QR-код "
        "приложением-аутентификатором и введите код. **Сохраните резервные коды** — без них при потере "
        "телефона восстановить доступ можно только через поддержку с подтверждением личности.",
        "Switch it on in *Profile → Security → Two-factor authentication*: scan the QR code with an "
        "authenticator app and enter the code. **Keep the backup codes**: without them, a lost phone means "
        "restoring access through support with an identity check.",
    ),
    DemoArticle(
        "account",
        "account-users",
        "Как дать доступ сотруднику магазина",
        "Giving a colleague access",
        "Владелец аккаунта добавляет сотрудников в *Настройки → Пользователи → Пригласить*. Выберите роль: "
        "«Менеджер заказов», «Контент-менеджер» или «Администратор». Не передавайте свой пароль — у каждого "
        "должен быть свой вход, тогда в журнале видно, кто что изменил.",
        'The account owner adds colleagues in *Settings → Users → Invite*. Choose a role: "Order manager", '
        '"Content manager" or "Administrator". Do not share your password: everyone should have their own '
        "login, so the log shows who changed what.",
    ),
    # -- login problems -----------------------------------------------------------------------------
    DemoArticle(
        "account/login-problems",
        "password-reset-mail",
        "Не приходит письмо для сброса пароля",
        "The password reset e-mail does not arrive",
        "1. Подождите 5 минут и проверьте папку «Спам».\n2. Убедитесь, что вводите адрес, с которым "
        "регистрировались.\n3. Если почта корпоративная — попросите администратора проверить фильтры.\n\n"
        "Для владельцев магазина: если письма не получают **ваши покупатели**, проверьте отправителя в "
        "*Настройки → Почтовые шаблоны → Сброс пароля* — он должен быть на домене магазина.",
        "1. Wait 5 minutes and check the spam folder.\n2. Make sure you enter the address you registered "
        "with.\n3. For a company mailbox, ask your administrator to check the filters.\n\nFor shop owners: if "
        "**your customers** get no reset e-mails, check the sender in *Settings → Mail templates → Password "
        "reset*: it must be on the shop's domain.",
    ),
    DemoArticle(
        "account/login-problems",
        "account-locked",
        "Вход заблокирован после неудачных попыток",
        "Login blocked after failed attempts",
        "После **5 неудачных попыток** вход с этого адреса блокируется на **15 минут** — это защита от "
        "подбора пароля. Подождите и войдите снова или сбросьте пароль по ссылке «Забыли пароль?».",
        "After **5 failed attempts** logging in from that address is blocked for **15 minutes**: it protects "
        'against password guessing. Wait and try again, or reset the password with "Forgot your password?".',
    ),
    DemoArticle(
        "account/login-problems",
        "login-loop",
        "После входа снова открывается страница входа",
        "The login page keeps coming back",
        "Браузер не сохраняет cookie сеанса. Разрешите cookie для сайта, отключите расширения-блокировщики, "
        "проверьте дату и время на компьютере. Если сайт открыт по адресу без HTTPS — откройте его по HTTPS.",
        "The browser does not keep the session cookie. Allow cookies for the site, switch off blocking "
        "extensions, check the computer's date and time. If the site is open without HTTPS, open it over HTTPS.",
    ),
    # -- errors -------------------------------------------------------------------------------------
    DemoArticle(
        "errors",
        "error-report",
        "Как сообщить об ошибке, чтобы её быстро исправили",
        "How to report an error so it gets fixed fast",
        "Укажите в обращении:\n\n- **адрес страницы**, где возникла ошибка;\n- **точное время** (с часовым "
        "поясом);\n- **полный текст ошибки** или снимок экрана;\n- **что вы делали** перед ней и повторяется ли "
        "она;\n- для ошибок сервера — фрагмент журнала ошибок за это время.\n\nОдна проблема — одно обращение: "
        "так каждую решает нужный специалист.",
        "In your ticket, give:\n\n- the **page address** where the error appeared;\n- the **exact time** (with "
        "the time zone);\n- the **full error text** or a screenshot;\n- **what you did** just before and whether "
        "it happens again;\n- for server errors, the error log's lines of that time.\n\nOne problem per ticket: "
        "each then goes to the right specialist.",
    ),
    DemoArticle(
        "errors",
        "clear-cache",
        "Очистка кеша",
        "Clearing the cache",
        "Многие ошибки после обновлений исчезают после очистки кеша:\n\n1. Кеш сайта: *Настройки → "
        "Производительность → Очистить кеш*.\n2. Кеш браузера: **Ctrl+F5** (на Mac — **Cmd+Shift+R**).\n\n"
        "Если ошибка осталась — сообщите нам, что кеш уже очищали.",
        "Many errors after an update disappear once the cache is cleared:\n\n1. The site cache: *Settings → "
        "Performance → Clear cache*.\n2. The browser cache: **Ctrl+F5** (on a Mac, **Cmd+Shift+R**).\n\nIf the "
        "error stays, tell us that the cache has already been cleared.",
    ),
    # -- error codes --------------------------------------------------------------------------------
    DemoArticle(
        "errors/error-codes",
        "error-500",
        "Ошибка 500 (внутренняя ошибка сервера)",
        "Error 500 (internal server error)",
        "Ошибка 500 значит, что код сайта упал при обработке запроса. Чаще всего после обновления модуля или "
        "из-за нехватки памяти.\n\n1. Очистите кеш сайта.\n2. Откройте *Журнал ошибок* и найдите запись на "
        "время ошибки.\n3. Если ошибка появилась после обновления — пришлите нам версию модуля и фрагмент "
        "журнала.\n\n```\nPHP Fatal error: Allowed memory size exhausted\n```\nтакая строка значит нехватку "
        "памяти: увеличьте `memory_limit` или напишите нам.",
        "Error 500 means the site's code failed while handling the request, most often after a module update "
        "or from running out of memory.\n\n1. Clear the site cache.\n2. Open the *Error log* and find the entry "
        "of that time.\n3. If it started after an update, send us the module version and the log lines.\n\n"
        "```\nPHP Fatal error: Allowed memory size exhausted\n```\nsuch a line means memory ran out: raise "
        "`memory_limit` or write to us.",
    ),
    DemoArticle(
        "errors/error-codes",
        "error-403",
        "Ошибка 403 (доступ запрещён)",
        "Error 403 (forbidden)",
        "У пользователя нет прав на страницу или действие. Проверьте роль пользователя в *Настройки → "
        "Пользователи*. Если 403 видят все, в том числе администратор, — проверьте правила веб-сервера и "
        "брандмауэра (WAF) хостинга.",
        "The user has no right to the page or the action. Check the user's role in *Settings → Users*. If "
        "everyone, the administrator included, sees 403, check the web server's rules and the hosting's "
        "firewall (WAF).",
    ),
    DemoArticle(
        "errors/error-codes",
        "error-404",
        "Ошибка 404 (страница не найдена)",
        "Error 404 (page not found)",
        "Страницы по этому адресу нет: товар удалён, раздел переименован или ссылка с ошибкой. Настройте "
        "переадресацию со старых адресов в *Настройки → SEO → Переадресации*, чтобы не терять покупателей и "
        "позиции в поиске.",
        "There is no page at that address: the product was deleted, the category renamed, or the link is "
        "wrong. Set up redirects from old addresses in *Settings → SEO → Redirects* so you lose neither "
        "customers nor search positions.",
    ),
    DemoArticle(
        "errors/error-codes",
        "error-502-504",
        "Ошибки 502 и 504",
        "Errors 502 and 504",
        "Веб-сервер не дождался ответа от приложения: оно перегружено, перезапускается или запрос слишком "
        "долгий (импорт, выгрузка). Если ошибка кратковременная — повторите через минуту. Если держится "
        "дольше 10 минут — создайте обращение с критичностью «высокая».",
        "The web server did not get an answer from the application in time: it is overloaded, restarting, or "
        "the request is too long (an import, an export). If it is short-lived, retry in a minute. If it lasts "
        "more than 10 minutes, file a ticket with high criticality.",
    ),
    # -- internal (staff only) ----------------------------------------------------------------------
    DemoArticle(
        "internal",
        "internal-escalation",
        "Когда эскалировать обращение на L2",
        "When to escalate a ticket to L2",
        "Эскалируйте, если:\n\n- ошибка воспроизводится и не описана в базе знаний;\n- затронуто больше "
        "одного клиента (возможная авария — сразу менеджеру инцидентов);\n- нужна правка кода или доступ к "
        "серверу;\n- первая линия не ответила по существу за 4 рабочих часа.\n\nПеред эскалацией заполните "
        "категорию, критичность и приложите шаги воспроизведения.",
        "Escalate when:\n\n- the error reproduces and the knowledge base does not describe it;\n- more than one "
        "client is affected (a possible accident: straight to the incident manager);\n- a code change or server "
        "access is needed;\n- the first line has not answered in substance within 4 working hours.\n\nBefore "
        "escalating, fill in the category and criticality and attach the steps to reproduce.",
        staff_only=True,
    ),
    DemoArticle(
        "internal",
        "internal-gateway-logs",
        "Где смотреть журналы платёжного шлюза",
        "Finding the payment gateway's logs",
        "Журнал запросов шлюза клиента: *Панель партнёра → Клиенты → клиент → Оплата → Журнал шлюза*. "
        "Храним 30 дней. Ищите по номеру заказа; ответы 401 — неверный ключ, 5xx — сбой на стороне "
        "платёжной системы (проверьте её страницу статуса).",
        "The client's gateway request log: *Partner panel → Clients → the client → Payment → Gateway log*. "
        "Kept for 30 days. Search by order number; 401 answers mean a wrong key, 5xx a failure at the provider "
        "(check its status page).",
        staff_only=True,
    ),
    DemoArticle(
        "internal",
        "internal-refund-approval",
        "Согласование возврата оплаты лицензии",
        "Approving a licence refund",
        "Возврат оплаты лицензии согласует руководитель поддержки. Условия: не позже 14 дней с оплаты, "
        "лицензия не активирована на рабочем домене. Оформите скрытое сообщение с суммой и причиной и "
        "назначьте обращение руководителю.",
        "A licence refund is approved by the head of support. Conditions: within 14 days of the payment, the "
        "licence not activated on a production domain. Write a hidden note with the amount and the reason and "
        "assign the ticket to the head of support.",
        staff_only=True,
    ),
)
