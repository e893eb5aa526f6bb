"""The SOAP partner ``login()`` call: read the envelope, write the loginResponse or the LoginFault.

simple-salesforce finds ``sessionId`` and ``serverUrl`` with minidom's
``getElementsByTagName``, so the response keeps them unprefixed (default
namespace), as Salesforce does; a failure is HTTP 500 with a SOAP fault whose
``sf:exceptionCode`` the client turns into ``SalesforceAuthenticationFailed``.
See ../shared/reference/clients.md section 4.2.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARTNER = "urn:partner.soap.sforce.com"
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


class SoapRequestError(ValueError):
    """The body is not a well-formed partner login envelope."""


@dataclass(frozen=True)
class LoginRequest:
    username: str
    password: str  # the password with the security token appended, as the client sends it


def parse_login(body: bytes) -> LoginRequest:
    """The username and password(+token) of a ``login`` envelope."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SoapRequestError(f"unable to parse the SOAP envelope: {exc}") from None
    login = root.find(f"{{{_SOAP_ENV}}}Body/{{{_PARTNER}}}login")
    if login is None:
        raise SoapRequestError("the SOAP Body holds no {urn:partner.soap.sforce.com}login element")
    username = login.findtext(f"{{{_PARTNER}}}username")
    password = login.findtext(f"{{{_PARTNER}}}password")
    if username is None or password is None:
        raise SoapRequestError("login needs both username and password")
    return LoginRequest(username.strip(), password)


@dataclass(frozen=True)
class LoginResult:
    base_url: str  # https://127.0.0.1:PORT, taken from the request itself
    version: str
    org_id: str
    session_id: str
    session_seconds: int
    user_id: str
    user_name: str
    user_email: str
    username: str


def login_response(result: LoginResult) -> bytes:
    """The partner loginResponse (element set as in payloads/salesforce/soap_login_response.xml)."""
    org15 = result.org_id[:15]
    text = {k: escape(str(v)) for k, v in vars(result).items()}
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}" xmlns="{_PARTNER}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
   <soapenv:Body>
      <loginResponse>
         <result>
            <metadataServerUrl>{text['base_url']}/services/Soap/m/{text['version']}/{org15}</metadataServerUrl>
            <passwordExpired>false</passwordExpired>
            <sandbox>false</sandbox>
            <serverUrl>{text['base_url']}/services/Soap/u/{text['version']}/{org15}</serverUrl>
            <sessionId>{text['session_id']}</sessionId>
            <userId>{text['user_id']}</userId>
            <userInfo>
               <accessibilityMode>false</accessibilityMode>
               <currencySymbol>$</currencySymbol>
               <orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit>
               <orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode>
               <orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments>
               <orgHasPersonAccounts>false</orgHasPersonAccounts>
               <organizationId>{text['org_id']}</organizationId>
               <organizationMultiCurrency>false</organizationMultiCurrency>
               <organizationName>Acme (deskbridge sandbox)</organizationName>
               <profileId>00eDm000000IntgAAC</profileId>
               <roleId xsi:nil="true" />
               <sessionSecondsValid>{text['session_seconds']}</sessionSecondsValid>
               <userDefaultCurrencyIsoCode xsi:nil="true" />
               <userEmail>{text['user_email']}</userEmail>
               <userFullName>{text['user_name']}</userFullName>
               <userId>{text['user_id']}</userId>
               <userLanguage>en_US</userLanguage>
               <userLocale>en_US</userLocale>
               <userName>{text['username']}</userName>
               <userTimeZone>America/Los_Angeles</userTimeZone>
               <userType>Standard</userType>
               <userUiSkin>Theme3</userUiSkin>
            </userInfo>
         </result>
      </loginResponse>
   </soapenv:Body>
</soapenv:Envelope>
""".encode()


def login_fault(code: str = "INVALID_LOGIN", message: str = INVALID_LOGIN) -> bytes:
    """A LoginFault envelope, sent with HTTP 500 as Salesforce does."""
    code, message = escape(code), escape(message)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>""".encode()


def client_fault(message: str) -> bytes:
    """A generic SOAP Client fault for envelopes that are not a login call."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{escape(message)}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>""".encode()
